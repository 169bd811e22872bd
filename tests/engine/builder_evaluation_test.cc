#include "engine/internal/builder_evaluation.h"

#include <algorithm>

#include "catalog/catalog.h"
#include "engine/policy.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

const v1::BuilderSpec& Spec(v1::Builder b) {
  const v1::BuilderSpec* spec = FindBuilder(DefaultCatalog(), b);
  EXPECT_NE(spec, nullptr);
  return *spec;
}

v1::Policy Effective(v1::Root root, v1::Privileged privileged,
                     v1::Platform platform = v1::PLATFORM_KUBERNETES) {
  v1::Policy p;
  p.set_root(root);
  p.set_privileged(privileged);
  p.set_platform(platform);
  auto effective = EffectiveOrgPolicy(p, "policy");
  EXPECT_TRUE(effective.ok()) << effective.status();
  return *effective;
}

bool Has(const BuilderEvaluation& ev, v1::ReasonCode code) {
  return std::any_of(ev.reasons.begin(), ev.reasons.end(),
                     [&](const v1::Reason& r) { return r.code() == code; });
}

// Proves the brief's standard Kubernetes case: with root forbidden and
// privileged allowed, Buildah runs as UID 1000 privileged; Kaniko (root) is
// refused for root, and the run profile's security is what Decide reports.
TEST(EvaluateBuilder, BuildahOnKubernetesNeedsPrivileged) {
  const v1::Policy policy = Effective(v1::ROOT_FORBIDDEN, v1::PRIVILEGED_ALLOWED);
  const BuilderEvaluation buildah = EvaluateBuilder(
      Spec(v1::BUILDER_BUILDAH), policy, v1::DESTINATION_DOCKER_REGISTRY, v1::ARCH_AMD64, false);
  ASSERT_TRUE(buildah.admissible);
  EXPECT_EQ(Spec(v1::BUILDER_BUILDAH).profiles(buildah.profile).name(), "buildah-privileged");
  EXPECT_EQ(buildah.security.uid, 1000);
  EXPECT_TRUE(buildah.security.privileged);
  EXPECT_EQ(buildah.satisfied_pss, v1::PSS_PRIVILEGED);
  const BuilderEvaluation kaniko = EvaluateBuilder(
      Spec(v1::BUILDER_KANIKO), policy, v1::DESTINATION_DOCKER_REGISTRY, v1::ARCH_AMD64, false);
  EXPECT_FALSE(kaniko.admissible);
  EXPECT_TRUE(Has(kaniko, v1::ROOT_NOT_ALLOWED));
}

// Proves the OpenShift anyuid case: Buildah's OpenShift profile (unprivileged,
// UID 1000, SETUID/SETGID, escalation) is chosen when anyuid is granted, and
// refused for the SCC when only restricted-v2 is.
TEST(EvaluateBuilder, BuildahOnOpenShiftFollowsTheScc) {
  v1::Policy policy =
      Effective(v1::ROOT_FORBIDDEN, v1::PRIVILEGED_FORBIDDEN, v1::PLATFORM_OPENSHIFT);
  BuilderEvaluation ev = EvaluateBuilder(Spec(v1::BUILDER_BUILDAH), policy, v1::DESTINATION_ECR,
                                         v1::ARCH_AMD64, false);
  EXPECT_FALSE(ev.admissible);
  EXPECT_TRUE(Has(ev, v1::SCC_NOT_GRANTED));
  policy.add_openshift_sccs(v1::SCC_ANYUID);
  ev = EvaluateBuilder(Spec(v1::BUILDER_BUILDAH), policy, v1::DESTINATION_ECR, v1::ARCH_AMD64,
                       false);
  ASSERT_TRUE(ev.admissible);
  EXPECT_EQ(Spec(v1::BUILDER_BUILDAH).profiles(ev.profile).name(), "buildah-openshift-anyuid");
  EXPECT_FALSE(ev.security.privileged);
  EXPECT_TRUE(ev.security.allow_privilege_escalation);
}

// Proves the shape facts: Buildah is not published for arm64, a builder
// outside allowed_builders is refused, and a Pod Security level is enforced.
TEST(EvaluateBuilder, ShapeAndPolicyFacts) {
  v1::Policy policy = Effective(v1::ROOT_ALLOWED, v1::PRIVILEGED_ALLOWED);
  BuilderEvaluation ev = EvaluateBuilder(Spec(v1::BUILDER_BUILDAH), policy,
                                         v1::DESTINATION_DOCKER_REGISTRY, v1::ARCH_ARM64, false);
  EXPECT_FALSE(ev.admissible);
  EXPECT_TRUE(Has(ev, v1::ARCHITECTURE_UNSUPPORTED));
  policy.clear_allowed_builders();
  policy.add_allowed_builders(v1::BUILDER_KANIKO);
  ev = EvaluateBuilder(Spec(v1::BUILDER_DRONE_DOCKER), policy, v1::DESTINATION_DOCKER_REGISTRY,
                       v1::ARCH_AMD64, false);
  EXPECT_TRUE(Has(ev, v1::BUILDER_NOT_ALLOWED));
  policy.add_allowed_builders(v1::BUILDER_DRONE_DOCKER);
  policy.set_pod_security(v1::PSS_BASELINE);
  ev = EvaluateBuilder(Spec(v1::BUILDER_DRONE_DOCKER), policy, v1::DESTINATION_DOCKER_REGISTRY,
                       v1::ARCH_AMD64, false);
  EXPECT_FALSE(ev.admissible);
  EXPECT_TRUE(Has(ev, v1::POD_SECURITY_VIOLATION));
  EXPECT_FALSE(Has(ev, v1::BUILDER_NOT_ALLOWED));
}

// Proves the step-dependent fit: BuildX without its feature flag is
// admissible by the table but needs the flag, which caching stands in for;
// Buildah cannot build without pushing to ECR.
TEST(CheckStepFit, FlagsCachingAndDryRun) {
  const v1::Policy policy = Effective(v1::ROOT_ALLOWED, v1::PRIVILEGED_ALLOWED);
  const v1::BuilderSpec& buildx = Spec(v1::BUILDER_BUILDX);
  const BuilderEvaluation ev =
      EvaluateBuilder(buildx, policy, v1::DESTINATION_DOCKER_REGISTRY, v1::ARCH_AMD64, false);
  EXPECT_TRUE(ev.admissible);
  EXPECT_TRUE(ev.needs_enabling_flag);
  v1::BuildStep step;
  EXPECT_TRUE(CheckStepFit(buildx, ev, step, v1::DESTINATION_DOCKER_REGISTRY).flag_missing);
  step.set_caching(true);
  EXPECT_TRUE(CheckStepFit(buildx, ev, step, v1::DESTINATION_DOCKER_REGISTRY).ok());

  const v1::BuilderSpec& buildah = Spec(v1::BUILDER_BUILDAH);
  const BuilderEvaluation bev =
      EvaluateBuilder(buildah, policy, v1::DESTINATION_ECR, v1::ARCH_AMD64, false);
  v1::BuildStep dry;
  dry.set_dry_run(true);
  EXPECT_TRUE(CheckStepFit(buildah, bev, dry, v1::DESTINATION_ECR).dry_run_unsupported);
  EXPECT_TRUE(CheckStepFit(buildah, bev, dry, v1::DESTINATION_DOCKER_REGISTRY).ok());
}

}  // namespace
}  // namespace buildgate
