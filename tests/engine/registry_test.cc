#include "engine/registry.h"

#include "gtest/gtest.h"

namespace buildgate {
namespace {

// Proves Docker Hub spellings normalise to docker.io and defaults apply.
TEST(RegistryHost, Normalises) {
  EXPECT_EQ(RegistryHost(v1::DESTINATION_DOCKER_REGISTRY, "https://index.docker.io/v2/"), "docker.io");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_DOCKER_REGISTRY, "https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_DOCKER_REGISTRY, ""), "docker.io");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_GCR, ""), "gcr.io");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_ECR, "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com");
  EXPECT_EQ(RegistryHost(v1::DESTINATION_DOCKER_REGISTRY, "HTTPS://Registry.Example.com:5000/v2"),
            "registry.example.com:5000");
}

// Proves push targets keep a host named in the repo and expand official images.
TEST(PushTarget, Forms) {
  EXPECT_EQ(PushTarget(v1::DESTINATION_DOCKER_REGISTRY, "", "acme/web"), "docker.io/acme/web");
  EXPECT_EQ(PushTarget(v1::DESTINATION_DOCKER_REGISTRY, "", "nginx"), "docker.io/library/nginx");
  EXPECT_EQ(PushTarget(v1::DESTINATION_DOCKER_REGISTRY, "", "ghcr.io/acme/web"), "ghcr.io/acme/web");
  EXPECT_EQ(PushTarget(v1::DESTINATION_ACR, "acme.azurecr.io", "web"), "acme.azurecr.io/web");
  EXPECT_EQ(PushTarget(v1::DESTINATION_GAR, "us-docker.pkg.dev", "p/r/i"), "us-docker.pkg.dev/p/r/i");
}

// Proves each destination's registry shape is checked.
TEST(RegistryShape, PerDestination) {
  EXPECT_EQ(RegistryShapeProblem(v1::DESTINATION_ECR, "123456789012.dkr.ecr.eu-west-1.amazonaws.com"), "");
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

// Proves Harness expressions are recognised whole and inside text.
TEST(HarnessExpression, Recognised) {
  EXPECT_TRUE(IsHarnessExpression("<+secrets.getValue(\"X\")>"));
  EXPECT_TRUE(IsHarnessExpression("<+pipeline.variables.DOCKER_HUB_USER>"));
  EXPECT_FALSE(IsHarnessExpression("hunter2"));
  EXPECT_FALSE(IsHarnessExpression("x<+a>"));
  EXPECT_TRUE(ContainsHarnessExpression("acme/<+pipeline.variables.APP>"));
}

// Proves a value is an expression only if the whole value parses as one:
// nesting, parentheses and quoted strings are followed, and look-alikes
// (a '>' after the expression ends, an unterminated one) are plain text.
TEST(HarnessExpression, WholeValueParses) {
  EXPECT_TRUE(IsHarnessExpression("<+pipeline.variables.<+stage.name>_tag>"));
  EXPECT_TRUE(IsHarnessExpression("<+secrets.getValue(\"docker>hub\")>"));
  EXPECT_TRUE(IsHarnessExpression("<+secrets.getValue('a\\'>b')>"));
  EXPECT_TRUE(IsHarnessExpression("<+<+pipeline.variables.x>.concat(\">\")>"));
  EXPECT_FALSE(IsHarnessExpression("<+x>Hunter2>"));
  EXPECT_FALSE(IsHarnessExpression("<+secrets.getValue(x)"));
  EXPECT_FALSE(IsHarnessExpression("<+>"));
  EXPECT_FALSE(IsHarnessExpression("<+a>>"));
  EXPECT_EQ(HarnessExpressionEnd("ab<+c.d>ef", 2), 8u);
  EXPECT_EQ(HarnessExpressionEnd("ab<+c.d", 2), std::string::npos);
  EXPECT_EQ(HarnessExpressionEnd("ab<+c>", 0), std::string::npos);  // No expression opens there.
  EXPECT_FALSE(ContainsHarnessExpression("acme/<+unterminated"));
  EXPECT_TRUE(ContainsHarnessExpression("<+ <+a>"));  // The inner one is whole.
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
  EXPECT_EQ(RegistryHost(v1::DESTINATION_ECR, "HTTPS://123456789012.DKR.ECR.<+stage.variables.Region>.amazonaws.com/"),
            "123456789012.dkr.ecr.<+stage.variables.Region>.amazonaws.com");
  const auto ecr = ParseEcrHost(host);
  ASSERT_TRUE(ecr.has_value());
  EXPECT_EQ(ecr->account, "123456789012");
  EXPECT_EQ(ecr->region, "<+pipeline.variables.AWS_REGION>");
  EXPECT_EQ(ParseEcrHost("123456789012.dkr.ecr.eu-west-1.amazonaws.com")->region, "eu-west-1");
  EXPECT_FALSE(ParseEcrHost("registry.example.com").has_value());
}

}  // namespace
}  // namespace buildgate
