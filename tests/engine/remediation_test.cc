#include "engine/internal/remediation.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "engine/compiled_policy.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

std::shared_ptr<const CompiledPolicySet> Compile(v1::Root root, v1::Privileged privileged) {
  v1::PolicySet set;
  set.set_org_id("acme-platform-security-emea-production");
  set.mutable_policy()->set_root(root);
  set.mutable_policy()->set_privileged(privileged);
  auto compiled = CompiledPolicySet::Compile(set);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return *compiled;
}

// The remediations for a Build and Push step to `destination` on `arch`
// nodes under an org policy with the given root and privileged rules.
std::vector<v1::Remediation> Remediations(v1::Root root, v1::Privileged privileged,
                                          v1::StepKind kind, v1::Destination destination,
                                          v1::Arch arch, bool dry_run = false) {
  const auto set = Compile(root, privileged);
  v1::BuildStep step;
  step.set_kind(kind);
  step.set_dry_run(dry_run);
  return FindRemediations(set->ScopeFor("", ""), step, destination, arch);
}

std::vector<std::string> ChangesFor(const std::vector<v1::Remediation>& rs, v1::Builder b) {
  std::vector<std::string> out;
  for (const v1::Remediation& r : rs) {
    if (r.builder() == b) out.push_back(absl::StrJoin(r.policy_changes(), " & "));
  }
  return out;
}

// Proves the search finds the smallest change per builder when no builder
// can run the step (root and privileged both forbidden on Kubernetes):
// Buildah needs only privileged, Kaniko only root on the build step, and the
// builders that need both get the pair (or the OpenShift alternative).
TEST(FindRemediations, SmallestChangePerBuilder) {
  const auto rs = Remediations(v1::ROOT_FORBIDDEN, v1::PRIVILEGED_FORBIDDEN,
                               v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY,
                               v1::DESTINATION_DOCKER_REGISTRY, v1::ARCH_AMD64);
  // Buildah: privileged on Kubernetes, or its unprivileged profile under
  // OpenShift's anyuid SCC (one alternative, two fields).
  EXPECT_EQ(
      ChangesFor(rs, v1::BUILDER_BUILDAH),
      (std::vector<std::string>{
          "privileged: PRIVILEGED_FORBIDDEN -> PRIVILEGED_ALLOWED",
          "platform: PLATFORM_KUBERNETES -> PLATFORM_OPENSHIFT & openshift_sccs: + SCC_ANYUID"}));
  EXPECT_EQ(ChangesFor(rs, v1::BUILDER_KANIKO),
            (std::vector<std::string>{"root: ROOT_FORBIDDEN -> ROOT_BUILD_STEP_ONLY"}));
  const auto docker = ChangesFor(rs, v1::BUILDER_DRONE_DOCKER);
  EXPECT_NE(
      std::find(
          docker.begin(), docker.end(),
          "root: ROOT_FORBIDDEN -> ROOT_BUILD_STEP_ONLY & privileged: PRIVILEGED_FORBIDDEN -> "
          "PRIVILEGED_ALLOWED"),
      docker.end())
      << absl::StrJoin(docker, " | ");
  for (const v1::Remediation& r : rs) {
    EXPECT_LE(r.policy_changes_size(), kMaxRemediationChanges);
    EXPECT_FALSE(r.message().empty());
  }
}

// Proves a builder no policy change admits gets no remediation: Buildah
// cannot build without pushing to ECR whatever the policy says.
TEST(FindRemediations, NoneWhenNoPolicyChangeHelps) {
  const auto rs =
      Remediations(v1::ROOT_FORBIDDEN, v1::PRIVILEGED_FORBIDDEN, v1::STEP_KIND_BUILD_AND_PUSH_ECR,
                   v1::DESTINATION_ECR, v1::ARCH_AMD64, /*dry_run=*/true);
  EXPECT_TRUE(ChangesFor(rs, v1::BUILDER_BUILDAH).empty());
  EXPECT_FALSE(ChangesFor(rs, v1::BUILDER_KANIKO).empty());
}

// Proves a step-side change is offered when it is the smallest: Buildah on
// an arm64 node is admitted by moving the step to amd64.
TEST(FindRemediations, StepArchitectureChange) {
  const auto rs = Remediations(v1::ROOT_FORBIDDEN, v1::PRIVILEGED_ALLOWED,
                               v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY,
                               v1::DESTINATION_DOCKER_REGISTRY, v1::ARCH_ARM64);
  EXPECT_EQ(ChangesFor(rs, v1::BUILDER_BUILDAH),
            (std::vector<std::string>{
                "step.arch: ARCH_ARM64 -> ARCH_AMD64 (run the step on an amd64 node)"}));
}

}  // namespace
}  // namespace buildgate
