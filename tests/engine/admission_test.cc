#include "engine/admission.h"

#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

ContainerSecurity Sec(int64_t uid, bool privileged, bool escalation,
                      std::vector<std::string> caps) {
  return ContainerSecurity{uid, privileged, escalation, std::move(caps)};
}

// Proves privileged containers satisfy only the privileged PSS level.
TEST(PodSecurity, PrivilegedNeedsPrivilegedLevel) {
  EXPECT_EQ(SatisfiedPodSecurityLevel(Sec(1000, true, false, {})), v1::PSS_PRIVILEGED);
}

// Proves root with default capabilities is baseline, not restricted.
TEST(PodSecurity, RootIsBaseline) {
  EXPECT_EQ(SatisfiedPodSecurityLevel(Sec(0, false, false, {"CHOWN", "SETUID"})), v1::PSS_BASELINE);
}

// Proves a capability outside the baseline set (SYS_ADMIN) needs privileged.
TEST(PodSecurity, SysAdminNeedsPrivilegedLevel) {
  EXPECT_EQ(SatisfiedPodSecurityLevel(Sec(1000, false, false, {"SYS_ADMIN"})), v1::PSS_PRIVILEGED);
}

// Proves a non-root, non-escalating container with no capabilities is restricted.
TEST(PodSecurity, NonRootDropAllIsRestricted) {
  EXPECT_EQ(SatisfiedPodSecurityLevel(Sec(1000, false, false, {})), v1::PSS_RESTRICTED);
  EXPECT_EQ(SatisfiedPodSecurityLevel(Sec(1000, false, true, {})), v1::PSS_BASELINE);
}

// Proves enforcement ordering: baseline admits baseline and restricted pods only.
TEST(PodSecurity, AdmissionOrdering) {
  EXPECT_TRUE(PodSecurityAdmits(v1::PSS_UNSPECIFIED, v1::PSS_PRIVILEGED));
  EXPECT_TRUE(PodSecurityAdmits(v1::PSS_BASELINE, v1::PSS_RESTRICTED));
  EXPECT_TRUE(PodSecurityAdmits(v1::PSS_BASELINE, v1::PSS_BASELINE));
  EXPECT_FALSE(PodSecurityAdmits(v1::PSS_BASELINE, v1::PSS_PRIVILEGED));
  EXPECT_FALSE(PodSecurityAdmits(v1::PSS_RESTRICTED, v1::PSS_BASELINE));
}

// Proves anyuid admits Buildah's rootless profile but not privileged pods.
TEST(Scc, AnyuidAdmitsRootlessBuildah) {
  const auto buildah = Sec(1000, false, true, {"SETUID", "SETGID"});
  EXPECT_TRUE(SccAdmits(v1::SCC_ANYUID, buildah));
  EXPECT_FALSE(SccAdmits(v1::SCC_NONROOT_V2, buildah));  // Drops ALL.
  EXPECT_FALSE(SccAdmits(v1::SCC_RESTRICTED_V2, buildah));
  EXPECT_FALSE(SccAdmits(v1::SCC_ANYUID, Sec(1000, true, false, {})));
  EXPECT_TRUE(SccAdmits(v1::SCC_PRIVILEGED, Sec(0, true, true, {"SYS_ADMIN"})));
}

// Proves nonroot-v2 refuses UID 0 and accepts a plain non-root container.
TEST(Scc, NonrootV2) {
  EXPECT_FALSE(SccAdmits(v1::SCC_NONROOT_V2, Sec(0, false, false, {})));
  EXPECT_TRUE(SccAdmits(v1::SCC_NONROOT_V2, Sec(1000, false, false, {})));
  EXPECT_EQ(LeastSccAdmitting(Sec(1000, false, false, {})), v1::SCC_NONROOT_V2);
  EXPECT_EQ(LeastSccAdmitting(Sec(0, false, false, {"CHOWN"})), v1::SCC_ANYUID);
  EXPECT_EQ(LeastSccAdmitting(Sec(0, true, false, {})), v1::SCC_PRIVILEGED);
}

PodSecurityFacts RestrictedPod() {
  PodSecurityFacts pod;
  pod.volume_types = {"configMap", "emptyDir", "secret", "projected"};
  PodSecurityFacts::Container c;
  c.name = "buildgated-decision-point-with-a-long-container-name";
  c.security.uid = 65532;
  c.run_as_non_root = true;
  c.drops_all_capabilities = true;
  c.seccomp_profile = "RuntimeDefault";
  pod.containers = {c};
  c.name = "app";
  c.security.uid = kUidFromImage;  // runAsNonRoot decides at start.
  c.security.capabilities = {"NET_BIND_SERVICE"};
  c.seccomp_profile = "Localhost";
  pod.containers.push_back(c);
  return pod;
}

// Proves the restricted check admits a pod that meets every rule, and
// names the field (and container) of each rule broken, one at a time.
TEST(RestrictedPodSecurity, AdmitsCompliantPodAndNamesEachViolation) {
  EXPECT_TRUE(RestrictedPodSecurityViolations(RestrictedPod()).empty());
  struct Case {
    std::function<void(PodSecurityFacts*)> breaks;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](PodSecurityFacts* p) { p->host_network = true; }, "spec.hostNetwork must not be true"},
      {[](PodSecurityFacts* p) { p->host_pid = true; }, "spec.hostPID must not be true"},
      {[](PodSecurityFacts* p) { p->host_ipc = true; }, "spec.hostIPC must not be true"},
      {[](PodSecurityFacts* p) { p->volume_types.push_back("hostPath"); },
       "spec.volumes: type hostPath is not allowed"},
      {[](PodSecurityFacts* p) { p->containers[1].security.privileged = true; },
       "container app: only meets privileged (privileged)"},
      {[](PodSecurityFacts* p) { p->containers[1].security.uid = 0; },
       "container app: only meets baseline (runs as UID 0)"},
      {[](PodSecurityFacts* p) { p->containers[1].security.allow_privilege_escalation = true; },
       "container app: only meets baseline (allows privilege escalation)"},
      {[](PodSecurityFacts* p) { p->containers[1].security.capabilities = {"CHOWN"}; },
       "container app: only meets baseline (adds capabilities CHOWN)"},
      {[](PodSecurityFacts* p) { p->containers[1].security.capabilities = {"SYS_ADMIN"}; },
       "container app: only meets privileged (adds capabilities SYS_ADMIN)"},
      {[](PodSecurityFacts* p) { p->containers[0].run_as_non_root = false; },
       "container buildgated-decision-point-with-a-long-container-name: "
       "securityContext.runAsNonRoot must be true"},
      {[](PodSecurityFacts* p) { p->containers[1].drops_all_capabilities = false; },
       "container app: securityContext.capabilities.drop must hold ALL"},
      {[](PodSecurityFacts* p) { p->containers[1].seccomp_profile = ""; },
       "container app: securityContext.seccompProfile.type must be RuntimeDefault or Localhost (unset)"},
      {[](PodSecurityFacts* p) { p->containers[1].seccomp_profile = "Unconfined"; },
       "container app: securityContext.seccompProfile.type must be RuntimeDefault or Localhost (is "
       "Unconfined)"},
      {[](PodSecurityFacts* p) { p->containers[1].host_port = true; },
       "container app: ports[].hostPort must not be set"},
  };
  for (const Case& c : cases) {
    PodSecurityFacts pod = RestrictedPod();
    c.breaks(&pod);
    EXPECT_THAT(RestrictedPodSecurityViolations(pod), ::testing::ElementsAre(c.expected));
  }
}

}  // namespace
}  // namespace buildgate
