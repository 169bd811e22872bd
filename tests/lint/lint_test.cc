// Linting whole files (lint/lint.h): the stage variable a decided builder
// needs, files of several documents, and template files linted as what
// they hold.
#include "lint/lint.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/testing/yaml_messages.h"

namespace buildgate::lint {
namespace {

// tests/pipelines/policies/brief-k8s-noroot.yaml: Buildah is decided for a
// Build and Push step that does not push, and reads PLUGIN_DRY_RUN as a
// stage variable.
constexpr char kPolicy[] = R"(org_id: brief
policy:
  root: ROOT_FORBIDDEN
  privileged: PRIVILEGED_ALLOWED
  platform: PLATFORM_KUBERNETES
  credentials: CREDENTIALS_PASSWORD_EXPRESSION
)";

// A Build and Push step that must not push; STAGE_VARIABLES is replaced by
// the stage's `variables:` line(s), ENV by the step's envVariables.
constexpr char kDryRun[] = R"(pipeline:
  identifier: check
  projectIdentifier: platform
  stages:
    - stage:
        identifier: verify
        type: CI
STAGE_VARIABLES
        spec:
          infrastructure:
            type: KubernetesDirect
            spec:
              containerSecurityContext: {runAsNonRoot: true, runAsUser: "1000"}
          execution:
            steps:
              - step:
                  type: BuildAndPushDockerRegistry
                  identifier: check_build
                  spec:
                    connectorRef: hub
                    repo: brief/billing
                    tags: [check]
                    envVariables: {PLUGIN_DRY_RUN: "true"}
)";

const v1::Change* FindChange(const v1::Finding& f, absl::string_view field) {
  for (const v1::Change& c : f.changes()) {
    if (c.field() == field) return &c;
  }
  return nullptr;
}

v1::Finding LintOne(const std::string& text) {
  auto set = testing::Compile(kPolicy);
  auto linted = LintDocument(*set, text, "p.yaml");
  EXPECT_TRUE(linted.ok()) << linted.status();
  if (!linted.ok() || linted->report.findings_size() != 1) {
    ADD_FAILURE() << "expected one finding";
    return v1::Finding();
  }
  return linted->report.findings(0);
}

// Proves the stage variable the Buildah plugin reads is asked for by what
// the pipeline sets, not by where the step's dry run came from: a step
// with envVariables.PLUGIN_DRY_RUN and the stage (or step group, or
// pipeline) variable needs no change; without it, or with another value,
// it does.
TEST(RequireStageVariables, LooksForTheVariableItself) {
  const std::string with_stage_variable = absl::StrReplaceAll(
      kDryRun, {{"STAGE_VARIABLES",
                 "        variables: [{name: PLUGIN_DRY_RUN, type: String, value: \"true\"}]"}});
  v1::Finding f = LintOne(with_stage_variable);
  EXPECT_EQ(f.decision().builder(), v1::BUILDER_BUILDAH) << f.DebugString();
  EXPECT_EQ(FindChange(f, "stage.variables.PLUGIN_DRY_RUN"), nullptr) << f.DebugString();

  const std::string in_pipeline = absl::StrReplaceAll(
      absl::StrReplaceAll(kDryRun, {{"STAGE_VARIABLES\n", ""}}),
      {{"  projectIdentifier: platform\n",
        "  projectIdentifier: platform\n  variables: [{name: PLUGIN_DRY_RUN, type: String, "
        "value: \"TRUE\"}]\n"}});
  f = LintOne(in_pipeline);
  EXPECT_EQ(FindChange(f, "stage.variables.PLUGIN_DRY_RUN"), nullptr) << f.DebugString();

  f = LintOne(absl::StrReplaceAll(kDryRun, {{"STAGE_VARIABLES\n", ""}}));
  const v1::Change* added = FindChange(f, "stage.variables.PLUGIN_DRY_RUN");
  ASSERT_NE(added, nullptr) << f.DebugString();
  EXPECT_EQ(added->proposed(), "");
  EXPECT_EQ(added->required(), "true");

  f = LintOne(absl::StrReplaceAll(
      kDryRun, {{"STAGE_VARIABLES",
                 "        variables: [{name: PLUGIN_DRY_RUN, type: String, value: \"false\"}]"}}));
  const v1::Change* changed = FindChange(f, "stage.variables.PLUGIN_DRY_RUN");
  ASSERT_NE(changed, nullptr) << f.DebugString();
  EXPECT_EQ(changed->proposed(), "false");
  EXPECT_EQ(changed->required(), "true");
}

// Proves each document of a file is linted, its findings located by the
// file's lines, and a file of other entities only is skipped naming each.
TEST(LintDocument, EveryDocumentOfAFile) {
  const std::string pipeline =
      absl::StrReplaceAll(kDryRun, {{"STAGE_VARIABLES\n", ""}});  // 22 lines.
  const std::string text =
      absl::StrCat("inputSet:\n  identifier: dev\n---\n", pipeline, "---\n", pipeline);
  auto set = testing::Compile(kPolicy);
  auto linted = LintDocument(*set, text, "p.yaml");
  ASSERT_TRUE(linted.ok()) << linted.status();
  ASSERT_EQ(linted->report.findings_size(), 2);
  EXPECT_EQ(linted->report.findings(0).location().line(), 3 + 15);
  EXPECT_EQ(linted->report.findings(1).location().line(), 3 + 22 + 1 + 15);
  EXPECT_EQ(linted->report.builds(), 2);
  EXPECT_EQ(linted->report.skipped(), "");
  ASSERT_EQ(linted->document.documents.size(), 3u);
  EXPECT_EQ(linted->document.documents[0].what, "input set");
  EXPECT_EQ(linted->document.documents[2].line, 26);

  auto skipped = LintDocument(*set, "trigger: {identifier: a}\n---\n---\ninputSet: {}\n", "p.yaml");
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ(skipped->report.skipped(), "trigger; empty document; input set");
  EXPECT_EQ(skipped->report.findings_size(), 0);

  // A malformed document is the file's error, never a pass.
  auto bad = LintDocument(*set, absl::StrCat(pipeline, "---\npipeline: [a]\n"), "p.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(
      absl::StrContains(bad.status().message(), "p.yaml:24:11: pipeline: expected a mapping"))
      << bad.status();
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "(document 2 of 2, from line 23)"))
      << bad.status();
}

// Proves a Step template is decided like a pipeline's step, its finding
// noting that <+input> values are the template's inputs.
TEST(LintDocument, StepTemplateIsDecided) {
  constexpr char kTemplate[] = R"(template:
  name: Buildah build
  identifier: buildah_build
  versionLabel: "1"
  type: Step
  spec:
    type: Plugin
    spec:
      image: plugins/buildah-docker:1.1.0-linux-amd64
      privileged: <+input>
      settings: {repo: brief/app, tags: latest, username: bot, password: <+secrets.getValue("hub")>}
)";
  auto set = testing::Compile(kPolicy);
  auto linted = LintDocument(*set, kTemplate, "t.yaml");
  ASSERT_TRUE(linted.ok()) << linted.status();
  ASSERT_EQ(linted->report.findings_size(), 1);
  const v1::Finding& f = linted->report.findings(0);
  EXPECT_EQ(f.step_id(), "buildah_build");
  EXPECT_EQ(f.location().yaml_path(), "template.spec");
  EXPECT_EQ(f.decision().builder(), v1::BUILDER_BUILDAH) << f.DebugString();
  bool noted = false;
  for (const v1::Reason& n : f.notes()) {
    noted = noted || (n.code() == v1::RUNTIME_INPUT &&
                      absl::StrContains(n.message(), "in Step template buildah_build@1") &&
                      absl::StrContains(n.message(), "template's inputs"));
  }
  EXPECT_TRUE(noted) << f.DebugString();
  const v1::Change* privileged = FindChange(f, "spec.privileged");
  ASSERT_NE(privileged, nullptr) << f.DebugString();
  EXPECT_EQ(privileged->proposed(), "<+input>");
}

// Proves the template note never names a finding's rule: a Buildah Step
// template that needs only the stage variable keeps the decision's reason.
TEST(LintDocument, TemplateNoteIsNoRule) {
  constexpr char kTemplate[] = R"(template:
  identifier: check
  type: Step
  spec:
    type: Plugin
    spec:
      image: plugins/buildah-docker:1.1.0-linux-amd64
      privileged: true
      runAsUser: 1000
      envVariables: {PLUGIN_DRY_RUN: "true"}
      settings: {repo: brief/app, tags: latest}
)";
  const v1::Finding f = LintOne(kTemplate);
  EXPECT_EQ(f.verdict(), v1::VERDICT_ALLOW_WITH_CHANGES) << f.DebugString();
  EXPECT_EQ(f.rule(), v1::CHOSEN_AS_REQUESTED) << f.DebugString();
  ASSERT_NE(FindChange(f, "stage.variables.PLUGIN_DRY_RUN"), nullptr) << f.DebugString();
  ASSERT_GT(f.notes_size(), 0);
  EXPECT_TRUE(absl::StrContains(f.notes(f.notes_size() - 1).message(), "in Step template check"));
}

}  // namespace
}  // namespace buildgate::lint
