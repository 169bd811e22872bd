// Checks of the Kubernetes manifests as kustomize renders them (run by
// tests/deploy/run_manifest_checks.sh, which renders every overlay into
// $BUILDGATE_RENDERED_DIR/<overlay>.yaml and names a deliberately broken
// manifest in $BUILDGATE_BROKEN_MANIFEST):
//  - every pod template of every overlay passes the restricted Pod Security
//    Standard, judged by buildgate's own rules (engine/admission.h), and the
//    broken manifest fails them, rule by rule;
//  - each overlay holds what docs/kubernetes.md promises of it.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/admission.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace buildgate {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::vector<YAML::Node> LoadObjects(const std::string& path) {
  std::vector<YAML::Node> objects;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(path)) {
    if (doc.IsMap()) objects.push_back(doc);
  }
  return objects;
}

// The overlay's rendered objects; fails the test when it was not rendered.
std::vector<YAML::Node> Rendered(const std::string& overlay) {
  const std::string dir = Env("BUILDGATE_RENDERED_DIR");
  const fs::path path = fs::path(dir) / (overlay + ".yaml");
  if (dir.empty() || !fs::exists(path)) {
    ADD_FAILURE() << "no " << path << ": run tests/deploy/run_manifest_checks.sh";
    return {};
  }
  return LoadObjects(path.string());
}

// node[k1][k2]...: an undefined node when any step is missing (yaml-cpp
// throws on indexing a missing node of a const node). Steps with reset():
// Node::operator= would overwrite the node it refers to.
YAML::Node At(const YAML::Node& node, std::initializer_list<const char*> path) {
  YAML::Node at;
  at.reset(node);
  for (const char* key : path) {
    if (!at.IsMap() || !at[key]) return YAML::Node(YAML::NodeType::Undefined);
    at.reset(at[key]);
  }
  return at;
}

// A workload's pod spec (Pod, Deployment and the other templates, CronJob),
// or an undefined node.
YAML::Node PodSpec(const YAML::Node& object) {
  const std::string kind = object["kind"].as<std::string>("");
  if (kind == "Pod") return object["spec"];
  if (kind == "CronJob") return At(object, {"spec", "jobTemplate", "spec", "template", "spec"});
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet" ||
      kind == "Job" || kind == "ReplicationController") {
    return At(object, {"spec", "template", "spec"});
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// A container's effective setting: its own securityContext's, else the pod's.
YAML::Node Effective(const YAML::Node& container, const YAML::Node& pod, const char* key) {
  const YAML::Node own = At(container, {"securityContext", key});
  return own ? own : At(pod, {"securityContext", key});
}

// What the restricted level looks at, read from a pod spec with
// Kubernetes' own defaults (allowPrivilegeEscalation unset is allowed).
PodSecurityFacts FactsOf(const YAML::Node& pod) {
  PodSecurityFacts facts;
  facts.host_network = pod["hostNetwork"].as<bool>(false);
  facts.host_pid = pod["hostPID"].as<bool>(false);
  facts.host_ipc = pod["hostIPC"].as<bool>(false);
  for (const YAML::Node& volume : pod["volumes"]) {
    for (const auto& field : volume) {
      if (field.first.as<std::string>() != "name") facts.volume_types.push_back(field.first.as<std::string>());
    }
  }
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    for (const YAML::Node& c : pod[list]) {
      PodSecurityFacts::Container out;
      out.name = c["name"].as<std::string>("");
      out.security.privileged = At(c, {"securityContext", "privileged"}).as<bool>(false);
      out.security.allow_privilege_escalation =
          At(c, {"securityContext", "allowPrivilegeEscalation"}).as<bool>(true);
      out.run_as_non_root = Effective(c, pod, "runAsNonRoot").as<bool>(false);
      const YAML::Node uid = Effective(c, pod, "runAsUser");
      out.security.uid = uid ? uid.as<int64_t>() : kUidFromImage;
      for (const YAML::Node& cap : At(c, {"securityContext", "capabilities", "add"})) {
        out.security.capabilities.push_back(cap.as<std::string>());
      }
      for (const YAML::Node& cap : At(c, {"securityContext", "capabilities", "drop"})) {
        if (cap.as<std::string>() == "ALL") out.drops_all_capabilities = true;
      }
      out.seccomp_profile = At(Effective(c, pod, "seccompProfile"), {"type"}).as<std::string>("");
      for (const YAML::Node& port : c["ports"]) {
        if (port["hostPort"]) out.host_port = true;
      }
      facts.containers.push_back(out);
    }
  }
  return facts;
}

const std::vector<std::string> kOverlays = {"base", "production", "sidecar", "openshift"};

// Proves every pod template every overlay renders passes the restricted
// Pod Security Standard (buildgate's own rules, engine/admission.h).
TEST(Manifests, EveryPodTemplateIsRestricted) {
  for (const std::string& overlay : kOverlays) {
    int pods = 0;
    for (const YAML::Node& object : Rendered(overlay)) {
      const YAML::Node pod = PodSpec(object);
      if (!pod) continue;
      ++pods;
      EXPECT_THAT(RestrictedPodSecurityViolations(FactsOf(pod)), ::testing::IsEmpty())
          << overlay << ": " << object["kind"] << " " << object["metadata"]["name"];
    }
    EXPECT_GE(pods, 1) << overlay << " renders no pod template";
  }
}

// Proves the check can fail: the deliberately broken manifest breaks the
// restricted level in every way it was broken, each named.
TEST(Manifests, BrokenManifestFailsTheRestrictedCheck) {
  const std::string path = Env("BUILDGATE_BROKEN_MANIFEST");
  ASSERT_FALSE(path.empty()) << "run tests/deploy/run_manifest_checks.sh";
  std::vector<std::string> violations;
  for (const YAML::Node& object : LoadObjects(path)) {
    if (const YAML::Node pod = PodSpec(object)) {
      for (std::string& v : RestrictedPodSecurityViolations(FactsOf(pod))) violations.push_back(v);
    }
  }
  EXPECT_THAT(violations,
              ::testing::UnorderedElementsAre(
                  "spec.hostNetwork must not be true", "spec.volumes: type hostPath is not allowed",
                  "container buildgated: only meets privileged (privileged, runs as UID 0, allows "
                  "privilege escalation, adds capabilities SYS_ADMIN)",
                  "container buildgated: securityContext.runAsNonRoot must be true",
                  "container buildgated: securityContext.capabilities.drop must hold ALL",
                  "container buildgated: securityContext.seccompProfile.type must be RuntimeDefault "
                  "or Localhost (unset)",
                  "container buildgated: ports[].hostPort must not be set"));
}

// Objects of one overlay by "Kind/name".
std::map<std::string, YAML::Node> ByName(const std::vector<YAML::Node>& objects) {
  std::map<std::string, YAML::Node> out;
  for (const YAML::Node& o : objects) {
    out[absl::StrCat(o["kind"].as<std::string>(), "/", o["metadata"]["name"].as<std::string>())] = o;
  }
  return out;
}

bool HasArg(const YAML::Node& container, const std::string& arg) {
  for (const YAML::Node& a : container["args"]) {
    if (a.as<std::string>() == arg) return true;
  }
  return false;
}

// Proves the central service's topology: >= 2 replicas spread over nodes
// and zones, a headless Service for client-side balancing, disruption
// budget, CPU autoscaler, network policy, no API token, native gRPC probes,
// resources, and connection ageing so clients rebalance.
TEST(Manifests, BaseIsAnAvailableCentralService) {
  for (const std::string overlay : {"base", "production", "openshift"}) {
    SCOPED_TRACE(overlay);
    auto objects = ByName(Rendered(overlay));
    const YAML::Node deployment = objects["Deployment/buildgate"];
    ASSERT_TRUE(deployment);
    EXPECT_GE(deployment["spec"]["replicas"].as<int>(), 2);
    const YAML::Node pod = deployment["spec"]["template"]["spec"];
    EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>(true));
    EXPECT_EQ(pod["serviceAccountName"].as<std::string>(""), "buildgate");
    EXPECT_FALSE(objects["ServiceAccount/buildgate"]["automountServiceAccountToken"].as<bool>(true));
    EXPECT_EQ(pod["topologySpreadConstraints"].size(), 2u);
    const YAML::Node c = pod["containers"][0];
    EXPECT_TRUE(HasArg(c, "--max_connection_age=5m"));
    EXPECT_TRUE(HasArg(c, "--shutdown_delay=5s"));
    EXPECT_TRUE(HasArg(c, "--metrics_address=0.0.0.0:9464"));
    EXPECT_TRUE(c["resources"]["requests"]["cpu"] && c["resources"]["limits"]["memory"]);
    for (const char* probe : {"startupProbe", "readinessProbe", "livenessProbe"}) {
      EXPECT_TRUE(c[probe]["grpc"] || c[probe]["exec"]) << probe;
    }
    EXPECT_EQ(objects["Service/buildgate-headless"]["spec"]["clusterIP"].as<std::string>(""), "None");
    EXPECT_TRUE(objects["Service/buildgate"]);
    EXPECT_EQ(objects["PodDisruptionBudget/buildgate"]["spec"]["maxUnavailable"].as<int>(0), 1);
    EXPECT_GE(objects["HorizontalPodAutoscaler/buildgate"]["spec"]["minReplicas"].as<int>(0), 2);
    EXPECT_TRUE(objects["NetworkPolicy/buildgate"]);
    EXPECT_TRUE(objects["ConfigMap/buildgate-policies"]["data"]["acme.yaml"]);
  }
  // Base: kubelet's own gRPC probes; readiness follows the drain.
  auto base = ByName(Rendered("base"));
  const YAML::Node c = base["Deployment/buildgate"]["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["readinessProbe"]["grpc"]["service"].as<std::string>(""), "buildgate.v1.BuildGateService");
  EXPECT_EQ(c["livenessProbe"]["grpc"]["port"].as<int>(0), 50051);
}

// Proves production: inline policies off, mutual TLS from the Secret, and
// probes that speak TLS (kubelet's gRPC probe cannot).
TEST(Manifests, ProductionIsStoredPoliciesOverMutualTls) {
  auto objects = ByName(Rendered("production"));
  const YAML::Node pod = objects["Deployment/buildgate"]["spec"]["template"]["spec"];
  const YAML::Node c = pod["containers"][0];
  EXPECT_TRUE(HasArg(c, "--allow_inline_policies=false"));
  EXPECT_TRUE(HasArg(c, "--tls_client_ca=/etc/buildgate/tls/ca.crt"));
  EXPECT_TRUE(HasArg(c, "--tls_cert=/etc/buildgate/tls/tls.crt"));
  bool secret = false;
  for (const YAML::Node& v : pod["volumes"]) secret |= At(v, {"secret", "secretName"}).as<std::string>("") == "buildgate-tls";
  EXPECT_TRUE(secret);
  for (const char* probe : {"startupProbe", "readinessProbe", "livenessProbe"}) {
    const YAML::Node command = c[probe]["exec"]["command"];
    ASSERT_TRUE(command) << probe;
    EXPECT_FALSE(c[probe]["grpc"]) << probe;
    EXPECT_EQ(command[0].as<std::string>(), "/usr/local/bin/buildgate");
    EXPECT_EQ(command[command.size() - 1].as<std::string>(), "--tls_server_name=buildgate");
  }
}

// Proves the sidecar: a native sidecar (init container, restartPolicy
// Always) serving a unix socket in a shared emptyDir with a mode the app
// (another UID, in the pod's fsGroup) can connect to, metrics on the pod IP.
TEST(Manifests, SidecarIsNativeAndItsSocketReachableByTheApp) {
  auto objects = ByName(Rendered("sidecar"));
  const YAML::Node pod = objects["Deployment/pipeline-linter"]["spec"]["template"]["spec"];
  ASSERT_TRUE(pod);
  const YAML::Node sidecar = pod["initContainers"][0];
  const YAML::Node app = pod["containers"][0];
  EXPECT_EQ(sidecar["restartPolicy"].as<std::string>(""), "Always");
  EXPECT_TRUE(HasArg(sidecar, "--unix_socket=/var/run/buildgate/buildgate.sock"));
  EXPECT_TRUE(HasArg(sidecar, "--unix_socket_mode=0660"));
  EXPECT_TRUE(HasArg(sidecar, "--metrics_address=0.0.0.0:9464")) << "metrics must be scrapable";
  EXPECT_TRUE(sidecar["startupProbe"]);
  EXPECT_NE(sidecar["securityContext"]["runAsUser"].as<int>(), app["securityContext"]["runAsUser"].as<int>());
  EXPECT_TRUE(pod["securityContext"]["fsGroup"]) << "the socket's group, shared with the app";
  EXPECT_EQ(sidecar["volumeMounts"][0]["name"].as<std::string>(), "buildgate-socket");
  EXPECT_EQ(app["volumeMounts"][0]["name"].as<std::string>(), "buildgate-socket");
  EXPECT_TRUE(objects["ConfigMap/buildgate-policies"]) << "the policies it mounts are part of the overlay";
}

// Proves OpenShift: no fixed UID, GID or fsGroup anywhere (restricted-v2
// assigns them from the namespace's range and refuses fixed ones).
TEST(Manifests, OpenShiftFixesNoIds) {
  for (const YAML::Node& object : Rendered("openshift")) {
    const YAML::Node pod = PodSpec(object);
    if (!pod) continue;
    for (const char* key : {"runAsUser", "runAsGroup", "fsGroup"}) {
      EXPECT_FALSE(At(pod, {"securityContext", key})) << key;
      for (const YAML::Node& c : pod["containers"]) EXPECT_FALSE(At(c, {"securityContext", key})) << key;
    }
  }
}

}  // namespace
}  // namespace buildgate
