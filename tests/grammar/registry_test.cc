#include "grammar/registry.h"

#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

// Proves Docker Hub spellings normalise to docker.io and defaults apply.
TEST(RegistryHost, Normalises) {
  EXPECT_EQ(RegistryHost(v1::DESTINATION_DOCKER_REGISTRY, "https://index.docker.io/v2/"),
            "docker.io");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_DOCKER_REGISTRY, "https://index.docker.io/v1/"),
            "docker.io");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_DOCKER_REGISTRY, ""), "docker.io");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_GCR, ""), "gcr.io");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_ECR, "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_DOCKER_REGISTRY, "HTTPS://Registry.Example.com:5000/v2"),
            "registry.example.com:5000");
}

// The push target as Resolve computes it: the registry's host first.
PushTarget Push(v1::Destination d, absl::string_view registry, absl::string_view repo) {
  return ResolvePushTarget(d, RegistryHost(d, registry), repo);
}

std::string Target(v1::Destination d, absl::string_view registry, absl::string_view repo) {
  return Push(d, registry, repo).target;
}

// Proves push targets keep a host named in the repo and expand official images.
TEST(PushTarget, Forms) {
  EXPECT_EQ(Target(v1::DESTINATION_DOCKER_REGISTRY, "", "acme/web"), "docker.io/acme/web");
  EXPECT_EQ(Target(v1::DESTINATION_DOCKER_REGISTRY, "", "nginx"), "docker.io/library/nginx");
  EXPECT_EQ(Target(v1::DESTINATION_DOCKER_REGISTRY, "", "ghcr.io/acme/web"), "ghcr.io/acme/web");
  EXPECT_EQ(Target(v1::DESTINATION_ACR, "acme.azurecr.io", "web"), "acme.azurecr.io/web");
  EXPECT_EQ(Target(v1::DESTINATION_GAR, "us-docker.pkg.dev", "p/r/i"), "us-docker.pkg.dev/p/r/i");
}

// Proves what is known of a target with expressions: an expression in a
// later path segment leaves the host known; one in the first segment may be
// a host, so the host is unknown; one in the registry makes its host unknown.
TEST(PushTarget, ExpressionsSayWhatIsUnknown) {
  PushTarget t = Push(v1::DESTINATION_DOCKER_REGISTRY, "",
                      "acme-platform-team/<+pipeline.variables.serviceName>");
  EXPECT_EQ(t.target, "docker.io/acme-platform-team/<+pipeline.variables.serviceName>");
  EXPECT_TRUE(t.host_known);
  EXPECT_FALSE(t.path_known);
  t = Push(v1::DESTINATION_DOCKER_REGISTRY, "", "<+pipeline.variables.IMAGE>");
  EXPECT_EQ(t.target, "<+pipeline.variables.IMAGE>");  // Not docker.io/library/<+...>.
  EXPECT_FALSE(t.host_known);
  t = Push(v1::DESTINATION_DOCKER_REGISTRY, "", "<+pipeline.variables.HOST>/acme/api");
  EXPECT_FALSE(t.host_known);
  t = Push(v1::DESTINATION_ACR, "acmeregistry.azurecr.io", "<+pipeline.variables.REPOSITORY>");
  EXPECT_FALSE(t.host_known);  // ACR repositories may name the registry.
  t = Push(v1::DESTINATION_GCR, "eu.gcr.io", "<+pipeline.variables.GCP_PROJECT>/api");
  EXPECT_EQ(t.target, "eu.gcr.io/<+pipeline.variables.GCP_PROJECT>/api");
  EXPECT_TRUE(t.host_known);  // GCR images sit below the registry's host.
  t = Push(v1::DESTINATION_ECR,
           "123456789012.dkr.ecr.<+pipeline.variables.AWS_REGION>.amazonaws.com", "payments/api");
  EXPECT_EQ(t.target,
            "123456789012.dkr.ecr.<+pipeline.variables.AWS_REGION>.amazonaws.com/payments/api");
  EXPECT_FALSE(t.host_known);
  EXPECT_TRUE(t.path_known);
  // A '/' inside an expression does not end the first segment.
  t = Push(v1::DESTINATION_DOCKER_REGISTRY, "", "<+secrets.getValue(\"a/b\")>");
  EXPECT_FALSE(t.host_known);
}

// Proves each destination's registry shape is checked.
TEST(RegistryShape, PerDestination) {
  EXPECT_EQ(
      RegistryShapeProblem(v1::DESTINATION_ECR, "123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
      "");
  EXPECT_NE(RegistryShapeProblem(v1::DESTINATION_ECR, "docker.io"), "");
  EXPECT_NE(RegistryShapeProblem(v1::DESTINATION_ECR, "12345.dkr.ecr.eu-west-1.amazonaws.com"), "");
  EXPECT_EQ(RegistryShapeProblem(v1::DESTINATION_ACR, "acme.azurecr.io"), "");
  EXPECT_NE(RegistryShapeProblem(v1::DESTINATION_ACR, "azurecr.io"), "");
  EXPECT_EQ(RegistryShapeProblem(v1::DESTINATION_GAR, "europe-west1-docker.pkg.dev"), "");
  EXPECT_NE(RegistryShapeProblem(v1::DESTINATION_GAR, "gcr.io"), "");
  EXPECT_EQ(RegistryShapeProblem(v1::DESTINATION_GCR, "eu.gcr.io"), "");
  EXPECT_NE(RegistryShapeProblem(v1::DESTINATION_GCR, "quay.io"), "");
  EXPECT_EQ(RegistryShapeProblem(v1::DESTINATION_DOCKER_REGISTRY, "quay.io"), "");
}

// Proves a label holding an expression fits any rule, and the known labels
// around it are still checked.
TEST(RegistryShape, ExpressionLabelsAreUnknownNotWrong) {
  EXPECT_EQ(
      RegistryShapeProblem(v1::DESTINATION_ECR,
                           "123456789012.dkr.ecr.<+pipeline.variables.AWS_REGION>.amazonaws.com"),
      "");
  EXPECT_EQ(
      RegistryShapeProblem(v1::DESTINATION_ECR,
                           "<+pipeline.variables.AWS_ACCOUNT>.dkr.ecr.eu-west-1.amazonaws.com"),
      "");
  EXPECT_NE(RegistryShapeProblem(v1::DESTINATION_ECR,
                                 "12345.dkr.ecr.<+pipeline.variables.R>.amazonaws.com"),
            "");
  EXPECT_NE(RegistryShapeProblem(v1::DESTINATION_ECR, "<+pipeline.variables.R>.example.com"), "");
  EXPECT_EQ(
      RegistryShapeProblem(v1::DESTINATION_GAR, "<+pipeline.variables.LOCATION>-docker.pkg.dev"),
      "");
  EXPECT_EQ(RegistryShapeProblem(v1::DESTINATION_ACR, "<+pipeline.variables.REGISTRY>"), "");
}

// Proves hosts are read with their expressions whole: not split at the
// expression's dots, not lower-cased, and the ECR account and region come
// from one parser.
TEST(HostLabels, ExpressionsStayWhole) {
  const std::string host = "123456789012.dkr.ecr.<+pipeline.variables.AWS_REGION>.amazonaws.com";
  const auto labels = HostLabels(host);
  ASSERT_EQ(labels.size(), 6u);
  EXPECT_EQ(labels[3], "<+pipeline.variables.AWS_REGION>");
  EXPECT_EQ(LowerOutsideExpressions("Registry.Example.COM/<+pipeline.variables.Repo>"),
            "registry.example.com/<+pipeline.variables.Repo>");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_ECR,
                         "HTTPS://123456789012.DKR.ECR.<+stage.variables.Region>.amazonaws.com/"),
            "123456789012.dkr.ecr.<+stage.variables.Region>.amazonaws.com");
  EXPECT_EQ(
      RegistryHost(v1::DESTINATION_DOCKER_REGISTRY, "<+secrets.getValue(\"registry/url\")>/v2"),
      "<+secrets.getValue(\"registry/url\")>");
  const auto ecr = ParseEcrHost(host);
  ASSERT_TRUE(ecr.has_value());
  EXPECT_EQ(ecr->account, "123456789012");
  EXPECT_EQ(ecr->region, "<+pipeline.variables.AWS_REGION>");
  EXPECT_EQ(ParseEcrHost("123456789012.dkr.ecr.eu-west-1.amazonaws.com")->region, "eu-west-1");
  EXPECT_FALSE(ParseEcrHost("registry.example.com").has_value());
}

}  // namespace
}  // namespace buildgate
