// Fixes as text: the diff applies with GNU patch, a missing key lands at
// its mapping's indentation, untouched lines stay byte for byte.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "engine/compiled_policy.h"
#include "gtest/gtest.h"
#include "lint/fix.h"
#include "lint/lint.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

constexpr char kOpenShiftPolicy[] = R"(org_id: globex
policy:
  root: ROOT_FORBIDDEN
  privileged: PRIVILEGED_FORBIDDEN
  platform: PLATFORM_OPENSHIFT
  openshift_sccs: [SCC_ANYUID]
)";

// A Buildah step without runAsUser in a stage running as 2000 (Buildah's
// image needs 1000), with comments and odd quoting around it.
constexpr char kPipeline[] = R"(# team: storefront
pipeline:
  identifier: storefront_pipeline_with_a_long_identifier
  stages:
    - stage:
        identifier: build   # the only stage
        type: CI
        spec:
          infrastructure:
            type: KubernetesDirect
            spec:
              containerSecurityContext:
                runAsNonRoot: true
                runAsUser: "2000"  # the namespace's range
          execution:
            steps:
              - step:
                  type: Plugin
                  identifier: 'buildah_storefront'
                  spec:
                    connectorRef: "hub"   # keep me
                    image: plugins/buildah-docker:1.1.0-linux-amd64
                    privileged: true
                    settings:
                      repo: globex/storefront
                      tags: "1.2.3"
)";

std::shared_ptr<const CompiledPolicySet> OpenShift() {
  auto policy = CompiledPolicySet::ParseAndCompile(kOpenShiftPolicy, "globex.yaml");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *policy;
}

// Proves a missing key is added at its mapping's indentation and an
// existing value replaced in place, nothing else touched.
TEST(Fix, EditsOnlyTheLinesThatChange) {
  auto result = lint::LintDocument(*OpenShift(), kPipeline, "p.yaml");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->report.findings_size(), 1);
  ASSERT_EQ(result->report.findings(0).verdict(), v1::VERDICT_ALLOW_WITH_CHANGES);
  const std::string fixed = lint::ApplyFixes(kPipeline, lint::PlanFixes(kPipeline, *result));
  const std::string expected = absl::StrReplaceAll(
      kPipeline, {{"                    connectorRef: \"hub\"   # keep me\n",
                   "                    runAsUser: \"1000\"\n"
                   "                    connectorRef: \"hub\"   # keep me\n"},
                  {"privileged: true", "privileged: false"}});
  EXPECT_EQ(fixed, expected);
  auto again = lint::LintDocument(*OpenShift(), fixed, "p.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->report.findings(0).verdict(), v1::VERDICT_ALLOW) << fixed;
}

// Proves the unified diff is one `patch` accepts and gives the fixed text.
TEST(Fix, DiffAppliesWithPatch) {
  auto result = lint::LintDocument(*OpenShift(), kPipeline, "p.yaml");
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string fixed = lint::ApplyFixes(kPipeline, lint::PlanFixes(kPipeline, *result));
  const std::string diff = lint::UnifiedDiff(kPipeline, fixed, "p.yaml");
  ASSERT_TRUE(absl::StrContains(diff, "@@ -")) << diff;
  const std::string dir = testing::ScratchPath("fix_patch");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/p.yaml") << kPipeline;
  std::ofstream(dir + "/fix.diff") << diff;
  const auto r = testing::RunCommand(absl::StrCat("cd ", dir, " && patch -p1 < fix.diff"), true);
  ASSERT_EQ(r.exit_code, 0) << r.out << "\n" << diff;
  EXPECT_EQ(testing::ReadAll(dir + "/p.yaml"), fixed);
}

// Proves a unified diff of two texts has correct hunk headers.
TEST(Fix, UnifiedDiffHunks) {
  EXPECT_EQ(lint::UnifiedDiff("a\nb\nc\n", "a\nb\nc\n", "f"), "");
  EXPECT_EQ(lint::UnifiedDiff("a\nb\nc\n", "a\nB\nc\n", "f"),
            "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
  EXPECT_EQ(lint::UnifiedDiff("a\nc\n", "a\nb\nc\n", "f"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n+b\n c\n");
}

// Proves a last line without '\n' is marked as GNU diff marks it ("\ No
// newline at end of file" after it), as a changed line and as context.
TEST(Fix, UnifiedDiffMarksAMissingFinalNewline) {
  EXPECT_EQ(lint::UnifiedDiff("a\nb", "a\nB", "f"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+B\n"
            "\\ No newline at end of file\n");
  EXPECT_EQ(lint::UnifiedDiff("a\nb", "a\nb\n", "f"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
  EXPECT_EQ(lint::UnifiedDiff("1\n2\n3\n4\n5\n6\n7\n8\nlast", "1\n2\n3\n4\n5\nX\n7\n8\nlast", "f"),
            "--- a/f\n+++ b/f\n@@ -3,7 +3,7 @@\n 3\n 4\n 5\n-6\n+X\n 7\n 8\n last\n"
            "\\ No newline at end of file\n");
}

// Proves the fix of a pipeline without a final newline is a diff `patch`
// applies, giving the fixed text (still without a final newline).
TEST(Fix, DiffWithoutFinalNewlineAppliesWithPatch) {
  std::string pipeline = kPipeline;
  pipeline.pop_back();  // The last line, `tags: "1.2.3"`, is context of the fix's hunk.
  auto result = lint::LintDocument(*OpenShift(), pipeline, "p.yaml");
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string fixed = lint::ApplyFixes(pipeline, lint::PlanFixes(pipeline, *result));
  ASSERT_NE(fixed.back(), '\n');
  const std::string diff = lint::UnifiedDiff(pipeline, fixed, "p.yaml");
  ASSERT_TRUE(absl::StrContains(diff, "\\ No newline at end of file\n")) << diff;
  const std::string dir = testing::ScratchPath("fix_patch_no_newline");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/p.yaml", std::ios::binary | std::ios::trunc) << pipeline;
  std::ofstream(dir + "/fix.diff", std::ios::binary | std::ios::trunc) << diff;
  const auto r = testing::RunCommand(absl::StrCat("cd ", dir, " && patch -p1 < fix.diff"), true);
  ASSERT_EQ(r.exit_code, 0) << r.out << "\n" << diff;
  EXPECT_EQ(testing::ReadAll(dir + "/p.yaml"), fixed);
}

// Proves flow-style (JSON) documents are reported but never edited.
TEST(Fix, JsonIsNotEdited) {
  const std::string json =
      R"({"pipeline": {"identifier": "p", "stages": [{"stage": {"identifier": "s", "type": "CI",
      "spec": {"execution": {"steps": [{"step": {"type": "Plugin", "identifier": "b",
      "spec": {"image": "plugins/buildah-docker:1.1.0-linux-amd64", "privileged": true,
      "settings": {"repo": "globex/x"}}}}]}}}}]}})";
  auto result = lint::LintDocument(*OpenShift(), json, "p.json");
  ASSERT_TRUE(result.ok()) << result.status();
  const lint::FileFix fix = lint::PlanFixes(json, *result);
  ASSERT_EQ(fix.findings.size(), 1u);
  EXPECT_TRUE(fix.findings[0].edits.empty());
  EXPECT_TRUE(absl::StrContains(fix.findings[0].skipped, "JSON")) << fix.findings[0].skipped;
  EXPECT_EQ(lint::ApplyFixes(json, fix), json);
}

}  // namespace
}  // namespace buildgate
