#include "engine/admission.h"

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

}  // namespace
}  // namespace buildgate
