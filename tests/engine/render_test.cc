#include "engine/render.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace buildgate {
namespace {

v1::Decision PluginDecision() {
  v1::Decision d;
  d.set_step_type(v1::STEP_TYPE_PLUGIN);
  d.set_harness_step_type("Plugin");
  d.set_image("plugins/buildah-docker:1.1.0-linux-amd64");
  d.set_privileged(true);
  d.set_run_as_user(1000);
  return d;
}

v1::Setting* Add(v1::Decision* d, v1::EnvScope scope, const std::string& name,
                 const std::string& value) {
  v1::Setting* s = d->add_settings();
  s->set_scope(scope);
  s->set_name(name);
  s->set_value(value);
  return s;
}

// Proves every value a user can put in a step renders as the same string
// when the YAML is read back: booleans, numbers, colons, comments, quotes,
// control characters, unicode and expressions.
TEST(RenderStepYaml, ValuesRoundTripThroughAYamlParser) {
  const std::string values[] = {"true",
                                "No",
                                "off",
                                "~",
                                "null",
                                "1000",
                                "1e3",
                                "0x1F",
                                "-1",
                                ".5",
                                "key: value",
                                "trailing:",
                                "a #comment",
                                "#start",
                                "- dash",
                                "[list]",
                                "{map}",
                                "quote\"d",
                                "back\\slash",
                                "tab\there",
                                "new\nline",
                                "bell\x07",
                                "trailing ",
                                " leading",
                                "ünïcödé-é",
                                "<+secrets.getValue(\"DOCKER_HUB_SECRET\")>",
                                "<+pipeline.variables.TAG>",
                                "@at",
                                "`tick",
                                "!tag",
                                "&anchor",
                                "*alias",
                                "|pipe",
                                ">fold",
                                "%pct",
                                "'single'"};
  for (const std::string& v : values) {
    v1::BuildStep step;
    step.set_step_id("build_and_push_payments_api_image_to_registry");
    step.set_name(v);
    v1::Decision d = PluginDecision();
    Add(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "repo", v);
    Proposal p;
    p.destination = v1::DESTINATION_DOCKER_REGISTRY;
    std::string out;
    RenderStepYaml(step, d, p, &out);
    YAML::Node doc;
    ASSERT_NO_THROW(doc = YAML::Load(out)) << out;
    const YAML::Node s = doc[0]["step"];
    EXPECT_EQ(s["name"].as<std::string>(), v) << out;
    EXPECT_EQ(s["spec"]["settings"]["repo"].as<std::string>(), v) << out;
    EXPECT_EQ(s["spec"]["runAsUser"].as<std::string>(), "1000");
    EXPECT_TRUE(s["spec"]["privileged"].as<bool>());
  }
}

// Proves Build and Push fields come from the resolved proposal: ECR account
// and region as written (an expression whole), GAR project and image name.
TEST(RenderStepYaml, BuildAndPushFieldsFromTheProposal) {
  v1::BuildStep step;
  step.set_repo("payments/payments-api");
  v1::Decision d;
  d.set_step_type(v1::STEP_TYPE_BUILD_AND_PUSH);
  d.set_harness_step_type("BuildAndPushECR");
  const std::string host = "123456789012.dkr.ecr.<+pipeline.variables.AWS_REGION>.amazonaws.com";
  Proposal ecr;
  ecr.destination = v1::DESTINATION_ECR;
  ecr.registry_host = host;
  ecr.ecr_account = absl::string_view(ecr.registry_host).substr(0, 12);
  ecr.ecr_region = absl::string_view(ecr.registry_host).substr(21, 32);
  ASSERT_EQ(ecr.ecr_region, "<+pipeline.variables.AWS_REGION>");
  std::string out;
  RenderStepYaml(step, d, ecr, &out);
  YAML::Node spec = YAML::Load(out)[0]["step"]["spec"];
  EXPECT_EQ(spec["region"].as<std::string>(), "<+pipeline.variables.AWS_REGION>");
  EXPECT_EQ(spec["account"].as<std::string>(), "123456789012");
  EXPECT_EQ(spec["imageName"].as<std::string>(), "payments/payments-api");
  EXPECT_FALSE(spec["runAsUser"]);  // The decision set none.

  step.set_repo("<+pipeline.variables.GCP_PROJECT>/payments/api");
  d.set_harness_step_type("BuildAndPushGAR");
  Proposal gar;
  gar.destination = v1::DESTINATION_GAR;
  gar.registry_host = "europe-west1-docker.pkg.dev";
  gar.gcp_project = absl::string_view(step.repo()).substr(0, 33);
  gar.gcp_image_name = absl::string_view(step.repo()).substr(34);
  RenderStepYaml(step, d, gar, &out);
  spec = YAML::Load(out)[0]["step"]["spec"];
  EXPECT_EQ(spec["host"].as<std::string>(), "europe-west1-docker.pkg.dev");
  EXPECT_EQ(spec["projectID"].as<std::string>(), "<+pipeline.variables.GCP_PROJECT>");
  EXPECT_EQ(spec["imageName"].as<std::string>(), "payments/api");
}

// Proves stage variables render only for stage-scoped settings, quoted.
TEST(RenderStageVariablesYaml, OnlyStageScopedSettings) {
  v1::Decision d = PluginDecision();
  std::string out = "stale";
  RenderStageVariablesYaml(d, &out);
  EXPECT_EQ(out, "");
  Add(&d, v1::ENV_SCOPE_PLUGIN_SETTING, "repo", "acme/api");
  Add(&d, v1::ENV_SCOPE_STAGE_VARIABLE, "PLUGIN_DRY_RUN", "true");
  RenderStageVariablesYaml(d, &out);
  const YAML::Node doc = YAML::Load(out);
  ASSERT_EQ(doc["variables"].size(), 1u);
  EXPECT_EQ(doc["variables"][0]["name"].as<std::string>(), "PLUGIN_DRY_RUN");
  EXPECT_EQ(doc["variables"][0]["type"].as<std::string>(), "String");
  EXPECT_EQ(doc["variables"][0]["value"].as<std::string>(), "true");
  EXPECT_TRUE(absl::StrContains(out, "value: \"true\""));
}

}  // namespace
}  // namespace buildgate
