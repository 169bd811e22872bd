// Property tests over a generated cross-product of policies x steps: the
// safety invariants hold for every combination, not only the listed cases.
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/admission.h"
#include "catalog/catalog.h"
#include "engine/decide.h"
#include "engine/enum_names.h"
#include "gtest/gtest.h"
#include "tests/testing/corpus.h"

namespace buildgate {
namespace {

std::vector<v1::Policy> AllPolicies() {
  std::vector<v1::Policy> out;
  const std::vector<std::vector<v1::Scc>> platforms = {
      {}, {v1::SCC_ANYUID}, {v1::SCC_RESTRICTED_V2}, {v1::SCC_PRIVILEGED}, {v1::SCC_NONROOT_V2}};
  const std::vector<std::vector<v1::Builder>> builder_lists = {
      {},
      {v1::BUILDER_BUILDAH},
      {v1::BUILDER_KANIKO, v1::BUILDER_BUILDX},
      {v1::BUILDER_DRONE_DOCKER, v1::BUILDER_BUILDAH, v1::BUILDER_KANIKO}};
  for (int root = 1; root <= 3; ++root) {
    for (int priv = 1; priv <= 2; ++priv) {
      for (std::size_t plat = 0; plat < platforms.size(); ++plat) {
        for (int pss = 0; pss <= 3; ++pss) {
          for (const auto& builders : builder_lists) {
            for (bool flag : {false, true}) {
              v1::Policy p;
              p.set_root(static_cast<v1::Root>(root));
              p.set_privileged(static_cast<v1::Privileged>(priv));
              if (plat > 0) {
                p.set_platform(v1::PLATFORM_OPENSHIFT);
                for (auto scc : platforms[plat]) p.add_openshift_sccs(scc);
              }
              p.set_pod_security(static_cast<v1::Pss>(pss));
              for (auto b : builders) p.add_allowed_builders(b);
              if (flag) p.add_feature_flags("CI_USE_BUILDX_ON_K8");
              out.push_back(p);
            }
          }
        }
      }
    }
  }
  return out;
}

v1::BuildStep RandomStep(std::mt19937* rng) {
  auto pick = [&](int n) { return static_cast<int>((*rng)() % n); };
  v1::BuildStep s;
  s.set_repo("acme/app");
  const int kind = pick(8);
  if (kind < 5) {
    s.set_kind(static_cast<v1::StepKind>(kind + 1));
  } else {
    s.set_kind(v1::STEP_KIND_PLUGIN);
    const char* images[] = {"plugins/buildah-docker:1.1.0-linux-amd64", "plugins/docker:20.18.0",
                            "plugins/buildah-ecr:latest"};
    s.set_image(images[kind - 5]);
  }
  if (s.kind() == v1::STEP_KIND_BUILD_AND_PUSH_ECR || absl::StrContains(s.image(), "ecr")) {
    s.set_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com");
  } else if (s.kind() == v1::STEP_KIND_BUILD_AND_PUSH_GAR) {
    s.set_registry("us-docker.pkg.dev");
    s.set_repo("p/r/app");
  } else if (s.kind() == v1::STEP_KIND_BUILD_AND_PUSH_ACR) {
    s.set_registry("acme.azurecr.io");
  }
  s.set_arch(pick(2) ? v1::ARCH_ARM64 : v1::ARCH_AMD64);
  s.set_caching(pick(3) == 0);
  s.set_dry_run(pick(3) == 0);
  s.set_simple_dockerfile(pick(2) == 0);
  if (pick(2)) {
    auto* ctx = s.mutable_infrastructure()->mutable_container_security_context();
    ctx->set_run_as_non_root(true);
    ctx->set_run_as_user(1000);
  }
  if (pick(4) == 0) s.set_requested_builder(static_cast<v1::Builder>(1 + pick(4)));
  if (s.kind() == v1::STEP_KIND_PLUGIN) s.clear_requested_builder();
  return s;
}

bool Allows(const v1::Decision& d) { return d.verdict() != v1::VERDICT_DENY; }

// Checks the safety invariants of one decision against its effective policy.
void CheckInvariants(const v1::Policy& p, const CompiledPolicySet& set, const v1::Decision& d,
                     const std::string& ctx) {
  ASSERT_NE(d.verdict(), v1::VERDICT_UNSPECIFIED) << ctx;
  if (!Allows(d)) {
    EXPECT_FALSE(d.reasons().empty()) << ctx << "deny without a reason";
    bool no_builder = false;
    for (const auto& r : d.reasons()) no_builder |= r.code() == v1::NO_ADMISSIBLE_BUILDER;
    if (no_builder) {
      EXPECT_EQ(d.rejected_builders_size(), set.catalog().builders_size()) << ctx;
    }
    EXPECT_EQ(d.builder(), v1::BUILDER_UNSPECIFIED) << ctx;
    return;
  }
  if (p.root() == v1::ROOT_FORBIDDEN) {
    EXPECT_NE(d.run_as_user(), 0) << ctx << "root used";
  }
  for (const auto& c : d.changes()) {
    if (p.root() == v1::ROOT_FORBIDDEN && absl::StrContains(c.field(), "runAsUser")) {
      EXPECT_NE(c.required(), "0") << ctx;
    }
    if (p.privileged() == v1::PRIVILEGED_FORBIDDEN && absl::StrContains(c.field(), "privileged")) {
      EXPECT_EQ(c.required(), "false") << ctx;
    }
  }
  if (p.privileged() == v1::PRIVILEGED_FORBIDDEN) {
    EXPECT_FALSE(d.privileged()) << ctx << "privileged used";
  }
  const auto& allowed = set.EffectivePolicy("", "").allowed_builders();
  EXPECT_NE(std::find(allowed.begin(), allowed.end(), d.builder()), allowed.end())
      << ctx << "builder outside the allowlist";
  EXPECT_TRUE(PodSecurityAdmits(p.pod_security(), d.required_pod_security()))
      << ctx << "PSS " << EnumName(d.required_pod_security());
  // Recompute the container's security from the catalog profile and check
  // the SCCs independently of the engine's own bookkeeping.
  const v1::BuilderSpec* spec = FindBuilder(set.catalog(), d.builder());
  ASSERT_NE(spec, nullptr);
  const v1::RunProfile* profile = nullptr;
  for (const auto& pr : spec->profiles()) {
    if (pr.name() == d.profile()) profile = &pr;
  }
  ASSERT_NE(profile, nullptr) << ctx;
  ContainerSecurity sec{d.run_as_user(), d.privileged(), profile->allow_privilege_escalation(),
                        {profile->capabilities().begin(), profile->capabilities().end()}};
  EXPECT_EQ(SatisfiedPodSecurityLevel(sec), d.required_pod_security()) << ctx;
  if (p.platform() == v1::PLATFORM_OPENSHIFT) {
    EXPECT_TRUE(AnySccAdmits(p.openshift_sccs(), sec)) << ctx << "no granted SCC admits the pod";
  }
  EXPECT_FALSE(d.step_yaml().empty()) << ctx;
  if (d.step_type() == v1::STEP_TYPE_PLUGIN) {
    EXPECT_TRUE(absl::StrContains(d.step_yaml(), d.image())) << ctx;
  }
}

// Proves the invariants for every policy in the cross-product with sampled steps,
// that decisions are deterministic, and that a tightening project override is
// never looser than its org.
TEST(Properties, SafetyInvariantsOverCrossProduct) {
  std::mt19937 rng(20261127);
  const auto policies = AllPolicies();
  ASSERT_GT(policies.size(), 900u);
  int decisions = 0, allows = 0, denies = 0;
  for (std::size_t i = 0; i < policies.size(); ++i) {
    v1::PolicySet set;
    set.set_org_id("acme");
    *set.mutable_policy() = policies[i];
    // A project override that tightens whatever can be tightened.
    v1::ScopeOverride* o = set.add_overrides();
    o->set_project_id("tight");
    o->mutable_policy()->set_root(v1::ROOT_FORBIDDEN);
    if (rng() % 2) o->mutable_policy()->set_privileged(v1::PRIVILEGED_FORBIDDEN);
    if (rng() % 2) o->mutable_policy()->set_pod_security(
        std::max(v1::PSS_BASELINE, policies[i].pod_security()));
    auto compiled = CompiledPolicySet::Compile(set);
    ASSERT_TRUE(compiled.ok()) << compiled.status() << "\n" << policies[i].DebugString();
    const v1::Policy& org = (*compiled)->EffectivePolicy("", "");
    const v1::Policy& tight = (*compiled)->EffectivePolicy("tight", "");
    for (int k = 0; k < 8; ++k) {
      v1::BuildStep step = RandomStep(&rng);
      const std::string ctx = absl::StrCat("policy #", i, "\n", org.DebugString(), "step:\n",
                                           step.DebugString());
      v1::Decision d, again, project;
      ASSERT_TRUE(Decide(**compiled, step, &d).ok()) << ctx;
      ASSERT_TRUE(Decide(**compiled, step, &again).ok());
      EXPECT_EQ(d.SerializeAsString(), again.SerializeAsString()) << ctx;
      EXPECT_EQ(testing::BasicViewMismatch(**compiled, step, d), "") << ctx;
      // Earlier steps of this policy may have filled the memo for this shape.
      EXPECT_EQ(testing::MemoMismatch(**compiled, step), "") << ctx;
      CheckInvariants(org, **compiled, d, ctx);
      step.set_project_id("tight");
      ASSERT_TRUE(Decide(**compiled, step, &project).ok()) << ctx;
      CheckInvariants(tight, **compiled, project, ctx);
      if (Allows(project)) {
        EXPECT_TRUE(Allows(d)) << ctx << "project allows what its org denies";
        EXPECT_NE(project.run_as_user(), 0) << ctx;
      }
      ++decisions;
      Allows(d) ? ++allows : ++denies;
      if (HasFailure()) return;
    }
  }
  // The generator must exercise both outcomes, or the test proves little.
  EXPECT_GT(allows, decisions / 10);
  EXPECT_GT(denies, decisions / 10);
  std::printf("[ properties ] %d decisions: %d allow, %d deny\n", decisions, allows, denies);
}

}  // namespace
}  // namespace buildgate
