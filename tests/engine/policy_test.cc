#include "engine/policy.h"

#include "absl/strings/match.h"
#include "engine/compiled_policy.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

v1::Policy Org() {
  v1::Policy p;
  p.set_root(v1::ROOT_BUILD_STEP_ONLY);
  p.set_privileged(v1::PRIVILEGED_ALLOWED);
  p.set_pod_security(v1::PSS_BASELINE);
  p.add_registry_allowlist("docker.io/acme/*");
  p.set_credentials(v1::CREDENTIALS_PASSWORD_EXPRESSION);
  return *EffectiveOrgPolicy(p, "policy");
}

std::string OverrideError(const v1::Policy& o) {
  auto r = ApplyOverride(Org(), o, "overrides[0].policy");
  EXPECT_FALSE(r.ok());
  return std::string(r.status().message());
}

// Proves defaults are filled in for an org policy.
TEST(EffectiveOrgPolicy, FillsDefaults) {
  v1::Policy p;
  p.set_root(v1::ROOT_FORBIDDEN);
  p.set_privileged(v1::PRIVILEGED_FORBIDDEN);
  auto e = EffectiveOrgPolicy(p, "policy");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->platform(), v1::PLATFORM_KUBERNETES);
  EXPECT_EQ(e->allowed_builders_size(), 4);
  EXPECT_EQ(e->allowed_builders(0), v1::BUILDER_KANIKO);
  EXPECT_EQ(e->non_root_uid(), 1000);
  EXPECT_EQ(e->allowed_uids().min(), 1);
  EXPECT_EQ(e->credentials(), v1::CREDENTIALS_ANY);
}

// Proves contradictory or malformed org policies are rejected by field.
TEST(EffectiveOrgPolicy, RejectsBadShapes) {
  v1::Policy p;
  p.set_root(v1::ROOT_FORBIDDEN);
  EXPECT_TRUE(absl::StrContains(EffectiveOrgPolicy(p, "policy").status().message(),
                                "policy.privileged: required"));
  p.set_privileged(v1::PRIVILEGED_ALLOWED);
  p.add_openshift_sccs(v1::SCC_ANYUID);
  EXPECT_TRUE(absl::StrContains(EffectiveOrgPolicy(p, "policy").status().message(),
                                "policy.openshift_sccs"));
  p.clear_openshift_sccs();
  p.set_non_root_uid(0);
  EXPECT_TRUE(absl::StrContains(EffectiveOrgPolicy(p, "policy").status().message(),
                                "policy.non_root_uid"));
  p.clear_non_root_uid();
  p.add_registry_allowlist("https://docker.io/acme/*");
  EXPECT_TRUE(absl::StrContains(EffectiveOrgPolicy(p, "policy").status().message(),
                                "policy.registry_allowlist[0]"));
  p.clear_registry_allowlist();
  p.add_allowed_builders(v1::BUILDER_KANIKO);
  p.add_allowed_builders(v1::BUILDER_KANIKO);
  EXPECT_TRUE(absl::StrContains(EffectiveOrgPolicy(p, "policy").status().message(),
                                "allowed_builders[1]: listed twice"));
  p.clear_allowed_builders();
  p.mutable_allowed_uids()->set_min(5000);
  p.mutable_allowed_uids()->set_max(4000);
  EXPECT_TRUE(absl::StrContains(EffectiveOrgPolicy(p, "policy").status().message(),
                                "min is greater than max"));
}

// Proves every loosening is rejected, naming the field.
TEST(ApplyOverride, RejectsEveryLoosening) {
  v1::Policy o;
  o.set_root(v1::ROOT_ALLOWED);
  EXPECT_TRUE(absl::StrContains(OverrideError(o), "overrides[0].policy.root: ROOT_ALLOWED loosens"));
  o = {};
  o.set_pod_security(v1::PSS_PRIVILEGED);
  EXPECT_TRUE(absl::StrContains(OverrideError(o), "overrides[0].policy.pod_security"));
  o = {};
  o.add_registry_allowlist("docker.io/*");
  EXPECT_TRUE(absl::StrContains(OverrideError(o), "registry_allowlist[0]"));
  o = {};
  o.set_credentials(v1::CREDENTIALS_ANY);
  EXPECT_TRUE(absl::StrContains(OverrideError(o), "credentials"));
  o = {};
  o.add_feature_flags("CI_USE_BUILDX_ON_K8");
  EXPECT_TRUE(absl::StrContains(OverrideError(o), "feature_flags[0]"));
  o = {};
  o.set_platform(v1::PLATFORM_OPENSHIFT);
  EXPECT_TRUE(absl::StrContains(OverrideError(o), "platform"));
  o = {};
  o.mutable_allowed_uids()->set_min(0);
  o.mutable_allowed_uids()->set_max(10);
  EXPECT_TRUE(absl::StrContains(OverrideError(o), "allowed_uids"));
  o = {};
  o.add_catalog_overrides()->set_builder(v1::BUILDER_KANIKO);
  EXPECT_TRUE(absl::StrContains(OverrideError(o), "org-level only"));
}

// Proves tightenings merge into the effective policy.
TEST(ApplyOverride, MergesTightenings) {
  v1::Policy o;
  o.set_root(v1::ROOT_FORBIDDEN);
  o.set_privileged(v1::PRIVILEGED_FORBIDDEN);
  o.set_pod_security(v1::PSS_RESTRICTED);
  o.add_registry_allowlist("docker.io/acme/payments-*");
  o.add_allowed_builders(v1::BUILDER_BUILDAH);
  o.mutable_plugin_images()->set_forbid_latest(true);
  auto e = ApplyOverride(Org(), o, "overrides[0].policy");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->root(), v1::ROOT_FORBIDDEN);
  EXPECT_EQ(e->privileged(), v1::PRIVILEGED_FORBIDDEN);
  EXPECT_EQ(e->pod_security(), v1::PSS_RESTRICTED);
  EXPECT_EQ(e->registry_allowlist(0), "docker.io/acme/payments-*");
  EXPECT_EQ(e->allowed_builders_size(), 1);
  EXPECT_TRUE(e->plugin_images().forbid_latest());
  EXPECT_EQ(e->credentials(), v1::CREDENTIALS_PASSWORD_EXPRESSION);  // Inherited.
}

// Proves the compiled set rejects duplicate scopes and pipeline ids with '/'.
TEST(CompiledPolicySet, RejectsBadOverrides) {
  v1::PolicySet set;
  set.set_org_id("acme");
  set.mutable_policy()->set_root(v1::ROOT_FORBIDDEN);
  set.mutable_policy()->set_privileged(v1::PRIVILEGED_ALLOWED);
  set.add_overrides()->set_project_id("web");
  set.add_overrides()->set_project_id("web");
  auto c = CompiledPolicySet::Compile(set);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "overrides[1]")) << c.status();
  set.mutable_overrides(1)->set_project_id("");
  EXPECT_TRUE(absl::StrContains(CompiledPolicySet::Compile(set).status().message(),
                                "overrides[1].project_id: required"));
}

// Proves the fingerprint is stable and changes with content.
TEST(CompiledPolicySet, Fingerprint) {
  v1::PolicySet set;
  set.set_org_id("acme");
  set.mutable_policy()->set_root(v1::ROOT_FORBIDDEN);
  set.mutable_policy()->set_privileged(v1::PRIVILEGED_ALLOWED);
  const std::string a = PolicySetFingerprint(set);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, PolicySetFingerprint(set));
  set.mutable_policy()->set_revision("2");
  EXPECT_NE(a, PolicySetFingerprint(set));
}

}  // namespace
}  // namespace buildgate
