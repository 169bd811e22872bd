#include "catalog/catalog.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

// Proves the shipped catalog loads, validates and holds the brief's facts.
TEST(DefaultCatalog, HoldsTheBriefsFacts) {
  const v1::BuilderCatalog& c = DefaultCatalog();
  ASSERT_TRUE(ValidateCatalog(c, "catalog").ok());
  const v1::BuilderSpec* kaniko = FindBuilder(c, v1::BUILDER_KANIKO);
  const v1::BuilderSpec* buildah = FindBuilder(c, v1::BUILDER_BUILDAH);
  const v1::BuilderSpec* buildx = FindBuilder(c, v1::BUILDER_BUILDX);
  const v1::BuilderSpec* docker = FindBuilder(c, v1::BUILDER_DRONE_DOCKER);
  ASSERT_NE(kaniko, nullptr);
  ASSERT_NE(buildah, nullptr);
  ASSERT_NE(buildx, nullptr);
  ASSERT_NE(docker, nullptr);
  // Kaniko: always root, never privileged (brief).
  for (const auto& p : kaniko->profiles()) {
    EXPECT_TRUE(p.run_as_root());
    EXPECT_FALSE(p.privileged());
  }
  // Buildah: UID 1000; privileged except the OpenShift profile; amd64 only.
  for (const auto& p : buildah->profiles()) {
    EXPECT_FALSE(p.run_as_root());
    EXPECT_EQ(p.uid(), 1000);
  }
  for (const auto& image : buildah->images()) {
    ASSERT_EQ(image.architectures_size(), 1);
    EXPECT_EQ(image.architectures(0), v1::ARCH_AMD64);
    if (image.destination() == v1::DESTINATION_GAR) EXPECT_EQ(image.repository(), "plugins/buildah-gcr");
  }
  EXPECT_EQ(buildah->default_version(), "1.1.0");
  // BuildX and drone-docker: root and privileged.
  for (const auto* spec : {buildx, docker}) {
    for (const auto& p : spec->profiles()) {
      EXPECT_TRUE(p.run_as_root());
      EXPECT_TRUE(p.privileged());
    }
  }
  EXPECT_EQ(buildx->enabling_feature_flags(0), "CI_USE_BUILDX_ON_K8");
  EXPECT_TRUE(buildx->enabled_by_caching());
  EXPECT_TRUE(kaniko->displaced_by_caching());
}

// Proves an override replaces whole lists and keeps untouched fields.
TEST(ApplyCatalogOverrides, ReplacesSetFields) {
  google::protobuf::RepeatedPtrField<v1::BuilderSpec> overrides;
  v1::BuilderSpec* o = overrides.Add();
  o->set_builder(v1::BUILDER_BUILDAH);
  o->mutable_dry_run()->add_destinations(v1::DESTINATION_ECR);
  o->mutable_dry_run()->mutable_knob()->set_name("PLUGIN_DRY_RUN");
  o->mutable_dry_run()->mutable_knob()->set_value("true");
  auto merged = ApplyCatalogOverrides(DefaultCatalog(), overrides);
  ASSERT_TRUE(merged.ok()) << merged.status();
  const v1::BuilderSpec* b = FindBuilder(*merged, v1::BUILDER_BUILDAH);
  ASSERT_EQ(b->dry_run().destinations_size(), 1);
  EXPECT_EQ(b->dry_run().destinations(0), v1::DESTINATION_ECR);
  EXPECT_EQ(b->profiles_size(), FindBuilder(DefaultCatalog(), v1::BUILDER_BUILDAH)->profiles_size());
}

// Proves an override producing an inconsistent catalog is rejected with the field.
TEST(ApplyCatalogOverrides, RejectsInconsistentResult) {
  google::protobuf::RepeatedPtrField<v1::BuilderSpec> overrides;
  v1::BuilderSpec* o = overrides.Add();
  o->set_builder(v1::BUILDER_BUILDAH);
  o->set_default_version("9.9.9");  // Not in known_versions.
  auto merged = ApplyCatalogOverrides(DefaultCatalog(), overrides);
  ASSERT_FALSE(merged.ok());
  EXPECT_TRUE(absl::StrContains(merged.status().message(), "default_version"));
  v1::BuilderSpec* dup = overrides.Add();
  dup->set_builder(v1::BUILDER_BUILDAH);
  EXPECT_FALSE(ApplyCatalogOverrides(DefaultCatalog(), overrides).ok());
}

// Proves a root profile with a fixed non-root UID is refused.
TEST(ValidateCatalog, RootProfileWithUid) {
  v1::BuilderCatalog c = DefaultCatalog();
  c.mutable_builders(0)->mutable_profiles(0)->set_uid(1000);
  auto s = ValidateCatalog(c, "catalog");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "catalog.builders[0].profiles[0].uid"));
}

}  // namespace
}  // namespace buildgate
