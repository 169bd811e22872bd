// What Kubernetes Pod Security Standards and OpenShift SCCs admit, computed
// from the security context a build container would run with.
//
// These are platform rules (kubernetes/website pod-security-standards.md;
// openshift/cluster-kube-apiserver-operator SCC manifests), not builder facts:
// builder facts live in the catalog.
//
// Thread-safe: all functions are pure.
#ifndef BUILDGATE_ENGINE_ADMISSION_H_
#define BUILDGATE_ENGINE_ADMISSION_H_

#include <string>
#include <vector>

#include "buildgate/v1/common.pb.h"
#include "google/protobuf/repeated_field.h"

namespace buildgate {

// The security facts of one build container.
struct ContainerSecurity {
  int64_t uid = 0;
  bool privileged = false;
  bool allow_privilege_escalation = false;
  // Capabilities the container must keep.
  std::vector<std::string> capabilities;
};

// What the restricted Pod Security Standard checks of a whole pod, beyond
// each container's ContainerSecurity (kubernetes/website
// pod-security-standards.md, "Restricted"). Values are effective ones:
// a container's own setting, else its pod's.
struct PodSecurityFacts {
  struct Container {
    std::string name;
    // uid: runAsUser; when unset, kUidFromImage (runAsNonRoot then makes
    // the kubelet refuse an image that runs as root). capabilities: those
    // added (capabilities.add).
    ContainerSecurity security;
    bool run_as_non_root = false;
    bool drops_all_capabilities = false;  // capabilities.drop holds ALL.
    std::string seccomp_profile;          // Type: RuntimeDefault, Localhost, Unconfined, "" unset.
    bool host_port = false;               // Any ports[].hostPort.
  };
  bool host_network = false;
  bool host_pid = false;
  bool host_ipc = false;
  std::vector<std::string> volume_types;  // "configMap", "emptyDir", "hostPath", ...
  std::vector<Container> containers;      // Init, ephemeral and app containers.
};
inline constexpr int64_t kUidFromImage = -1;

// Every way `pod` fails the restricted level, each naming the field (and
// container); empty when the restricted level admits it.
std::vector<std::string> RestrictedPodSecurityViolations(const PodSecurityFacts& pod);

// The strictest Pod Security Standard level the container satisfies
// (PSS_RESTRICTED > PSS_BASELINE > PSS_PRIVILEGED).
v1::Pss SatisfiedPodSecurityLevel(const ContainerSecurity& c);

// True if a namespace enforcing `enforced` admits a container satisfying
// `satisfied`. PSS_UNSPECIFIED enforces nothing.
bool PodSecurityAdmits(v1::Pss enforced, v1::Pss satisfied);

// True if `scc` admits the container. A fixed UID is never inside
// restricted-v2's per-namespace range, so restricted-v2 admits none.
bool SccAdmits(v1::Scc scc, const ContainerSecurity& c);

// The least powerful SCC that admits the container (nonroot-v2, anyuid,
// privileged, in that order).
v1::Scc LeastSccAdmitting(const ContainerSecurity& c);

// True if any of `granted` admits the container. An empty list means only
// the default restricted-v2.
bool AnySccAdmits(const google::protobuf::RepeatedField<int>& granted,
                  const ContainerSecurity& c);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_ADMISSION_H_
