#include "engine/proposal.h"

#include "absl/strings/match.h"
#include "engine/compiled_policy.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

class ProposalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::PolicySet set;
    set.set_org_id("acme-platform-security-emea-production");
    set.mutable_policy()->set_root(v1::ROOT_FORBIDDEN);
    set.mutable_policy()->set_privileged(v1::PRIVILEGED_ALLOWED);
    set.mutable_policy()->add_plugin_mirrors("registry.example.com/plugins");
    set.mutable_policy()->add_plugin_mirrors("harbor.corp.example.com/dockerhub");
    auto compiled = CompiledPolicySet::Compile(set);
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    set_ = *compiled;
  }
  absl::Status Resolve(const v1::BuildStep& step, Proposal* p) {
    return ResolveProposal(set_->catalog_data(), set_->EffectivePolicy("", ""), step, p);
  }
  absl::Status Resolve(const v1::BuildStep&& step, Proposal* p) = delete;  // Views would dangle.
  std::shared_ptr<const CompiledPolicySet> set_;
};

v1::BuildStep Plugin(absl::string_view image, absl::string_view registry = "") {
  v1::BuildStep step;
  step.set_kind(v1::STEP_KIND_PLUGIN);
  step.set_image(std::string(image));
  step.set_registry(std::string(registry));
  step.set_repo("acme-payments/payments-api");
  return step;
}

// Proves an official image resolves to its builder, destination and parts.
TEST_F(ProposalTest, OfficialPluginImage) {
  // A Proposal views into its step: the step outlives it.
  const v1::BuildStep step = Plugin("docker.io/plugins/buildah-ecr:1.1.0-linux-amd64",
                                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
  Proposal p;
  ASSERT_TRUE(Resolve(step, &p).ok());
  EXPECT_TRUE(p.is_plugin);
  EXPECT_EQ(p.builder, v1::BUILDER_BUILDAH);
  EXPECT_EQ(p.destination, v1::DESTINATION_ECR);
  EXPECT_EQ(p.image.catalog_repository, "plugins/buildah-ecr");
  EXPECT_EQ(p.image.tag, "1.1.0-linux-amd64");
  EXPECT_TRUE(p.image.mirror_prefix.empty());
  EXPECT_EQ(p.ecr_account, "123456789012");
  EXPECT_EQ(p.ecr_region, "eu-west-1");
  EXPECT_EQ(p.push_target,
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme-payments/payments-api");
  EXPECT_EQ(ImageFromProposedSource(p, "plugins/buildah-ecr:1.1.0-linux-amd64"),
            "plugins/buildah-ecr:1.1.0-linux-amd64");
}

// Proves both mirror layouts: a mirror that stands for the plugins/
// namespace, and one that mirrors Docker Hub whole; pinned images keep the
// mirror.
TEST_F(ProposalTest, MirroredPluginImages) {
  const v1::BuildStep mirrored =
      Plugin("registry.example.com/plugins/buildah-docker:1.1.0-linux-amd64");
  Proposal a;
  ASSERT_TRUE(Resolve(mirrored, &a).ok());
  EXPECT_EQ(a.image.catalog_repository, "plugins/buildah-docker");
  EXPECT_EQ(a.image.mirror_prefix, "registry.example.com/plugins/");
  EXPECT_EQ(a.image.mirrored_prefix, "plugins/");
  EXPECT_EQ(ImageFromProposedSource(a, "plugins/buildah-docker:1.2.0-linux-amd64"),
            "registry.example.com/plugins/buildah-docker:1.2.0-linux-amd64");
  const v1::BuildStep hub_mirror =
      Plugin("harbor.corp.example.com/dockerhub/plugins/docker:21.3.4");
  Proposal b;
  ASSERT_TRUE(Resolve(hub_mirror, &b).ok());
  EXPECT_EQ(b.builder, v1::BUILDER_DRONE_DOCKER);
  EXPECT_EQ(b.image.mirror_prefix, "harbor.corp.example.com/dockerhub/");
  EXPECT_EQ(b.image.mirrored_prefix, "");
  EXPECT_EQ(ImageFromProposedSource(b, "plugins/buildah-docker:1.1.0-linux-amd64"),
            "harbor.corp.example.com/dockerhub/plugins/buildah-docker:1.1.0-linux-amd64");
  // Not under a listed mirror (a look-alike host, a sibling path).
  for (const char* image :
       {"registry.example.com.evil.net/plugins/buildah-docker:1",
        "registry.example.com/pluginsx/buildah-docker:1", "registry.example.com/plugins/slack:1"}) {
    const v1::BuildStep step = Plugin(image);
    Proposal c;
    const absl::Status s = Resolve(step, &c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << image;
    EXPECT_TRUE(absl::StartsWith(s.message(), "step.image: ")) << s;
  }
}

// Proves expressions stay whole and say what is unknown.
TEST_F(ProposalTest, ExpressionsAreUnknownNotGuessed) {
  const v1::BuildStep step =
      Plugin("plugins/buildah-ecr:<+pipeline.variables.BUILDAH_VERSION>",
             "123456789012.dkr.ecr.<+pipeline.variables.AWS_REGION>.amazonaws.com");
  Proposal p;
  ASSERT_TRUE(Resolve(step, &p).ok());
  EXPECT_FALSE(p.image.tag_known);
  EXPECT_EQ(p.ecr_region, "<+pipeline.variables.AWS_REGION>");
  EXPECT_FALSE(p.registry_host_known);
  EXPECT_FALSE(p.push_host_known);
  v1::BuildStep gar;
  gar.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_GAR);
  gar.set_registry("europe-west1-docker.pkg.dev");
  gar.set_repo("<+pipeline.variables.GCP_PROJECT>/payments/api");
  Proposal g;
  ASSERT_TRUE(Resolve(gar, &g).ok());
  EXPECT_EQ(g.gcp_project, "<+pipeline.variables.GCP_PROJECT>");
  EXPECT_EQ(g.gcp_image_name, "payments/api");
  // GAR repositories sit below the registry's host: an expression as the
  // project leaves the host known.
  EXPECT_TRUE(g.push_host_known);
  EXPECT_FALSE(g.push_path_known);
  EXPECT_EQ(g.push_target,
            "europe-west1-docker.pkg.dev/<+pipeline.variables.GCP_PROJECT>/payments/api");
  // A Docker registry repository may name its host: an expression there
  // may be one.
  v1::BuildStep docker;
  docker.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY);
  docker.set_repo("<+pipeline.variables.IMAGE_REPOSITORY>");
  Proposal d;
  ASSERT_TRUE(Resolve(docker, &d).ok());
  EXPECT_FALSE(d.push_host_known);
}

// Proves a Build and Push step with no requested builder gets the one
// Harness would run, and a contradicting request is an error naming it.
TEST_F(ProposalTest, ImpliedAndContradictingBuilders) {
  v1::BuildStep step;
  step.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY);
  step.set_repo("acme-payments/payments-api");
  Proposal p;
  ASSERT_TRUE(Resolve(step, &p).ok());
  EXPECT_EQ(p.builder, v1::BUILDER_KANIKO);
  step.set_caching(true);  // Caching switches BuildX on.
  Proposal q;
  ASSERT_TRUE(Resolve(step, &q).ok());
  EXPECT_EQ(q.builder, v1::BUILDER_BUILDX);
  v1::BuildStep contradicting = Plugin("plugins/docker:21.3.4");
  contradicting.set_requested_builder(v1::BUILDER_BUILDAH);
  Proposal r;
  EXPECT_TRUE(absl::StartsWith(Resolve(contradicting, &r).message(), "step.requested_builder: "));
}

}  // namespace
}  // namespace buildgate
