// Lint reports (lint/report.h): what a run looks like in SARIF, and how a
// fix that is not applied is shown in text, in --fix's diff and in SARIF.
#include "lint/report.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/compiled_policy.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "lint/fix.h"
#include "lint/lint.h"
#include "tests/testing/json.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/yaml_messages.h"

namespace buildgate::lint {
namespace {

constexpr char kPolicy[] =
    "org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n";
constexpr char kNoBuilds[] = R"(pipeline:
  identifier: tests_only
  stages:
    - stage:
        identifier: test
        type: CI
        spec:
          execution:
            steps:
              - step: {type: Run, identifier: unit, spec: {command: make test}}
)";

// Proves a clean run's SARIF says it ran and found nothing: `results` is
// an empty list, never left out (SARIF reads a run without `results` as a
// run that did not happen).
TEST(Sarif, CleanRunHasEmptyResults) {
  auto set = testing::Compile(kPolicy);
  auto linted = LintDocument(*set, kNoBuilds, "tests-only.yaml");
  ASSERT_TRUE(linted.ok()) << linted.status();
  v1::LintRun run;
  v1::LintedFile* file = run.add_files();
  file->set_file("tests-only.yaml");
  *file->mutable_report() = linted->report;
  Summarize(&run);
  const std::string sarif = LintRunToSarif(run, {FileFix()}, "test");
  ASSERT_TRUE(testing::ParseJsonObject(sarif).ok()) << sarif;
  EXPECT_NE(sarif.find("\"results\": []"), std::string::npos) << sarif;
}

// A Build and Push (ECR) step under acme's policy: decided as a Buildah
// Plugin step, which cannot take the push login of its connector, so the
// fix is planned but not applied.
struct UnappliedCase {
  std::string text;
  v1::LintRun run;
  FileFix fix;
  std::vector<UnappliedFix> unapplied;
};

std::string Document(const std::string& name) {
  return testing::ReadAll(BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/" + name);
}

std::shared_ptr<const CompiledPolicySet> Acme() {
  auto policy = CompiledPolicySet::ParseAndCompile(
      testing::ReadAll(BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml"), "acme.yaml");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : nullptr;
}

UnappliedCase EcrBuildAndPush() {
  UnappliedCase c;
  c.text = Document("acme-ecr-build-and-push.yaml");
  auto policy = Acme();
  if (policy == nullptr) return c;
  auto linted = LintDocument(*policy, c.text, "ecr.yaml");
  EXPECT_TRUE(linted.ok()) << linted.status();
  if (!linted.ok()) return c;
  c.fix = PlanFixes(c.text, *linted);
  c.unapplied = UnappliedFixes(c.text, c.fix, "ecr.yaml");
  v1::LintedFile* file = c.run.add_files();
  file->set_file("ecr.yaml");
  *file->mutable_report() = linted->report;
  Summarize(&c.run);
  return c;
}

// Proves the unapplied fix is planned as expected: no edits to apply, the
// login named as not carried, and a suggested diff.
TEST(UnappliedFixes, EcrBuildAndPushToBuildahKeepsItsLoginByHand) {
  const UnappliedCase c = EcrBuildAndPush();
  ASSERT_EQ(c.fix.findings.size(), 1u);
  EXPECT_TRUE(c.fix.findings[0].edits.empty());
  ASSERT_EQ(c.unapplied.size(), 1u);
  const UnappliedFix& u = c.unapplied[0];
  EXPECT_EQ(u.finding, 0);
  EXPECT_EQ(u.not_carried, c.fix.findings[0].not_carried);
  ASSERT_FALSE(u.not_carried.empty());
  EXPECT_TRUE(absl::StrContains(u.not_carried[0], "connectorRef")) << u.not_carried[0];
  // The reason names the losses once: they follow one a line.
  EXPECT_TRUE(absl::StrContains(u.why, "lose what follows")) << u.why;
  EXPECT_FALSE(absl::StrContains(u.why, u.not_carried[0])) << u.why;
  EXPECT_TRUE(absl::StartsWith(u.suggested_diff, "--- a/ecr.yaml\n+++ b/ecr.yaml\n@@ "))
      << u.suggested_diff;
  EXPECT_TRUE(absl::StrContains(u.suggested_diff, "\n+                  type: Plugin\n"))
      << u.suggested_diff;
}

// Proves the suggested diff is made against the file with the applied
// fixes: in a file with one fix of each kind, it holds only the unapplied
// fix's lines, and `patch` applies it to the fixed file, which then lints
// with both builds as decided.
TEST(UnappliedFixes, SuggestedDiffIsAgainstTheFixedFile) {
  // The Buildah plugin step (fixed in place), then the Build and Push step
  // (not fixed) in a stage of its own.
  const std::string bp = Document("acme-ecr-build-and-push.yaml");
  const std::string text =
      Document("acme-ecr-buildah-plugin.yaml") +
      absl::StrReplaceAll(bp.substr(bp.find("    - stage:\n")),
                          {{"identifier: build_inventory_service_image_for_ecr",
                            "identifier: push_with_build_and_push"}});
  auto policy = Acme();
  ASSERT_NE(policy, nullptr);
  auto linted = LintDocument(*policy, text, "p.yaml");
  ASSERT_TRUE(linted.ok()) << linted.status();
  ASSERT_EQ(linted->report.findings_size(), 2) << text;
  const FileFix fix = PlanFixes(text, *linted);
  const std::vector<UnappliedFix> unapplied = UnappliedFixes(text, fix, "p.yaml");
  ASSERT_EQ(unapplied.size(), 1u);
  EXPECT_EQ(unapplied[0].finding, 1);
  const std::string fixed = ApplyFixes(text, fix);
  ASSERT_TRUE(absl::StrContains(text, "\n                    image: plugins/buildah-ecr\n"));
  EXPECT_FALSE(absl::StrContains(unapplied[0].suggested_diff, "image: plugins/buildah-ecr\n"))
      << unapplied[0].suggested_diff;
  const std::filesystem::path dir = testing::FreshTestDirectory("report_suggested");
  std::ofstream(dir / "p.yaml") << fixed;
  std::ofstream(dir / "suggested.diff") << unapplied[0].suggested_diff;
  const auto patched = testing::RunCommand(
      absl::StrCat("cd '", dir.string(), "' && patch -p1 < suggested.diff"), true);
  ASSERT_EQ(patched.exit_code, 0) << patched.out << unapplied[0].suggested_diff;
  auto again = LintDocument(*policy, testing::ReadAll((dir / "p.yaml").string()), "p.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->report.findings_size(), 2);
  for (const v1::Finding& f : again->report.findings()) {
    EXPECT_EQ(f.verdict(), v1::VERDICT_ALLOW) << f.DebugString();
  }
  std::filesystem::remove_all(dir);
}

// Proves the text report shows the fix as not applied under its finding:
// the reason, each loss on its own line, and the suggested diff indented,
// which `patch` applies as copied.
TEST(UnappliedFixes, TextShowsReasonLossesAndIndentedDiff) {
  const UnappliedCase c = EcrBuildAndPush();
  ASSERT_EQ(c.unapplied.size(), 1u);
  const std::string text = LintRunToText(c.run, {c.unapplied}, /*color=*/false);
  const UnappliedFix& u = c.unapplied[0];
  std::string expected = "      not fixed: " + u.why + "\n";
  for (const std::string& item : u.not_carried) expected += "        " + item + "\n";
  expected += "      suggested, not applied:\n        --- a/ecr.yaml\n        +++ b/ecr.yaml\n";
  EXPECT_TRUE(absl::StrContains(text, expected)) << text;
  // Under its finding, before the closing count.
  EXPECT_LT(text.find("24:17  changes"), text.find("not fixed:")) << text;
  EXPECT_LT(text.find("not fixed:"), text.find("1 file: ")) << text;
  for (absl::string_view line : absl::StrSplit(u.suggested_diff, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StrContains(text, absl::StrCat("\n        ", line, "\n"))) << line;
  }
  // Without it (no --fix), nothing of the kind.
  EXPECT_FALSE(absl::StrContains(LintRunToText(c.run, {}, false), "not fixed")) << text;
}

// Proves --fix's diff carries the unapplied fix as "# " lines only: not
// one line `patch` would read as part of a diff.
TEST(UnappliedFixes, DiffCommentsArePatchGarbage) {
  const UnappliedCase c = EcrBuildAndPush();
  ASSERT_EQ(c.unapplied.size(), 1u);
  const std::string comments =
      UnappliedFixesAsDiffComments("ecr.yaml", c.run.files(0).report(), c.unapplied);
  EXPECT_TRUE(absl::StartsWith(comments, "# ecr.yaml:24:17: not fixed: " + c.unapplied[0].why))
      << comments;
  std::string uncommented;
  for (absl::string_view line : absl::StrSplit(comments, '\n', absl::SkipEmpty())) {
    ASSERT_TRUE(absl::StartsWith(line, "# ")) << line;
    absl::StrAppend(&uncommented, line.substr(2), "\n");
  }
  EXPECT_TRUE(absl::StrContains(uncommented, c.unapplied[0].suggested_diff)) << comments;
}

// Proves SARIF never offers an unapplied fix as a fix (consumers apply
// those): it is `properties.buildgate.suggestedFix`, with the reason, the
// losses and the replacements.
TEST(UnappliedFixes, SarifHasASuggestedFixPropertyAndNoFix) {
  const UnappliedCase c = EcrBuildAndPush();
  ASSERT_EQ(c.fix.findings.size(), 1u);
  const std::string sarif = LintRunToSarif(c.run, {c.fix}, "test");
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(sarif, &parsed).ok()) << sarif;
  const auto& result = parsed.fields()
                           .at("runs")
                           .list_value()
                           .values(0)
                           .struct_value()
                           .fields()
                           .at("results")
                           .list_value()
                           .values(0)
                           .struct_value();
  EXPECT_EQ(result.fields().count("fixes"), 0u) << sarif;
  const auto& properties = result.fields().at("properties").struct_value().fields();
  EXPECT_EQ(properties.at("verdict").string_value(), "VERDICT_ALLOW_WITH_CHANGES");
  const auto& suggested =
      properties.at("buildgate").struct_value().fields().at("suggestedFix").struct_value().fields();
  EXPECT_EQ(suggested.at("notApplied").string_value(), c.unapplied[0].why);
  const auto& not_carried = suggested.at("notCarried").list_value();
  ASSERT_EQ(not_carried.values_size(), static_cast<int>(c.unapplied[0].not_carried.size()));
  EXPECT_EQ(not_carried.values(0).string_value(), c.unapplied[0].not_carried[0]);
  const auto& change = suggested.at("artifactChanges").list_value().values(0).struct_value();
  EXPECT_EQ(change.fields().at("artifactLocation").struct_value().fields().at("uri").string_value(),
            "ecr.yaml");
  EXPECT_EQ(change.fields().at("replacements").list_value().values_size(),
            static_cast<int>(c.fix.findings[0].incomplete_edits.size()));
}

}  // namespace
}  // namespace buildgate::lint
