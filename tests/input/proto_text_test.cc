#include "input/proto_text.h"

#include "absl/strings/match.h"
#include "buildgate/v1/policy.pb.h"
#include "buildgate/v1/step.pb.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

std::string ErrorOf(const std::string& text) {
  v1::PolicySet set;
  absl::Status s = ParseYamlToMessage(text, "p.yaml", &set);
  EXPECT_FALSE(s.ok()) << "expected an error for:\n" << text;
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(set.ByteSizeLong(), 0u) << "half-loaded message";
  return std::string(s.message());
}

// Proves camelCase and snake_case names, enums and quoted ints are read.
TEST(ParseYaml, ReadsBothNameStylesAndQuotedInts) {
  v1::BuildStep step;
  ASSERT_TRUE(ParseYamlToMessage(R"(
kind: STEP_KIND_PLUGIN
image: plugins/buildah-docker:1.1.0-linux-amd64
runAsUser: "1000"
infrastructure:
  container_security_context: {runAsNonRoot: true, runAsUser: 1000}
tags: [a, b]
)", "s.yaml", &step).ok());
  EXPECT_EQ(step.kind(), v1::STEP_KIND_PLUGIN);
  EXPECT_EQ(step.run_as_user(), 1000);
  EXPECT_TRUE(step.infrastructure().container_security_context().run_as_non_root());
  EXPECT_EQ(step.tags_size(), 2);
}

// Proves JSON input is accepted (JSON is read as YAML).
TEST(ParseYaml, ReadsJson) {
  v1::PolicySet set;
  ASSERT_TRUE(ParseYamlToMessage(
      R"({"orgId": "acme", "policy": {"root": "ROOT_FORBIDDEN", "allowedBuilders": ["BUILDER_BUILDAH"]}})",
      "p.json", &set).ok());
  EXPECT_EQ(set.org_id(), "acme");
  EXPECT_EQ(set.policy().allowed_builders(0), v1::BUILDER_BUILDAH);
}

// Proves an unknown field is named with file, line and column.
TEST(ParseYaml, UnknownFieldNamesLine) {
  const std::string e = ErrorOf("org_id: acme\npolicy:\n  root: ROOT_FORBIDDEN\n  rooot: x\n");
  EXPECT_TRUE(absl::StrContains(e, "p.yaml:4:3: policy.rooot: unknown field")) << e;
}

// Proves an impossible enum value lists the valid names.
TEST(ParseYaml, BadEnumListsChoices) {
  const std::string e = ErrorOf("policy:\n  root: NEVER\n");
  EXPECT_TRUE(absl::StrContains(e, "p.yaml:2:9: policy.root: unknown value \"NEVER\"")) << e;
  EXPECT_TRUE(absl::StrContains(e, "ROOT_FORBIDDEN")) << e;
}

// Proves UNSPECIFIED enum values cannot be written explicitly.
TEST(ParseYaml, UnspecifiedEnumRejected) {
  ErrorOf("policy:\n  root: ROOT_UNSPECIFIED\n");
}

// Proves wrong types are errors naming the field.
TEST(ParseYaml, WrongTypes) {
  EXPECT_TRUE(absl::StrContains(ErrorOf("policy: [1, 2]\n"), "policy: expected a mapping"));
  EXPECT_TRUE(absl::StrContains(ErrorOf("policy:\n  allowed_builders: BUILDER_KANIKO\n"),
                                "policy.allowed_builders: expected a list"));
  EXPECT_TRUE(absl::StrContains(ErrorOf("policy:\n  non_root_uid: abc\n"), "expected an integer"));
  EXPECT_TRUE(absl::StrContains(ErrorOf("policy:\n  plugin_images: {forbid_latest: yes}\n"),
                                "expected true or false"));
  EXPECT_TRUE(absl::StrContains(ErrorOf("org_id: {a: b}\n"), "org_id: expected a string"));
}

// Proves duplicate keys and YAML syntax errors are reported with a line.
TEST(ParseYaml, DuplicatesAndSyntax) {
  EXPECT_TRUE(absl::StrContains(ErrorOf("org_id: a\norgId: b\n"), "field given twice"));
  EXPECT_TRUE(absl::StrContains(ErrorOf("policy: {root: [\n"), "p.yaml:"));
  EXPECT_TRUE(absl::StrContains(ErrorOf(""), "empty document"));
}

// Proves int64 overflow is caught.
TEST(ParseYaml, IntegerRange) {
  v1::BuildStep step;
  auto s = ParseYamlToMessage("run_as_user: 99999999999999999999\n", "s.yaml", &step);
  EXPECT_FALSE(s.ok());
}

// Proves YAML output round-trips through the parser.
TEST(MessageToYaml, RoundTrips) {
  v1::PolicySet set;
  set.set_org_id("acme");
  set.mutable_policy()->set_root(v1::ROOT_FORBIDDEN);
  set.mutable_policy()->add_registry_allowlist("*.azurecr.io/*");
  set.mutable_policy()->set_non_root_uid(1000);
  const std::string yaml = MessageToYaml(set);
  v1::PolicySet back;
  ASSERT_TRUE(ParseYamlToMessage(yaml, "round.yaml", &back).ok()) << yaml;
  EXPECT_EQ(back.SerializeAsString(), set.SerializeAsString());
  EXPECT_EQ(yaml, MessageToYaml(back));  // Deterministic.
}

}  // namespace
}  // namespace buildgate
