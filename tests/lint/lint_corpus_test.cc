// The pipeline corpus (tests/pipelines) through the lint library, and every
// case's fixes applied and linted again.
#include <string>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/compiled_policy.h"
#include "gtest/gtest.h"
#include "lint/fix.h"
#include "lint/lint.h"
#include "tests/testing/pipeline_corpus.h"

namespace buildgate {
namespace {

using testing::PipelineCaseFile;

const std::vector<PipelineCaseFile>& Cases() {
  static const auto* cases = new std::vector<PipelineCaseFile>(
      testing::LoadPipelineCases(BUILDGATE_SOURCE_DIR "/tests/pipelines/cases"));
  return *cases;
}

std::shared_ptr<const CompiledPolicySet> Policy(const PipelineCaseFile& c) {
  auto policy = CompiledPolicySet::ParseAndCompile(c.policy_text, c.policy_path);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : nullptr;
}

class LintCorpus : public ::testing::TestWithParam<PipelineCaseFile> {};

// Proves each pipeline's findings (or error) are the ones its case expects.
TEST_P(LintCorpus, FindingsMatchExpectation) {
  const PipelineCaseFile& c = GetParam();
  auto policy = Policy(c);
  ASSERT_NE(policy, nullptr);
  auto result = lint::LintDocument(*policy, c.pipeline_text, c.pipeline_name);
  const v1::LintReport report = result.ok() ? result->report : v1::LintReport();
  const auto problems = testing::CheckLintOutcome(c, result.status(), report);
  EXPECT_TRUE(problems.empty()) << c.name << ": " << c.data.description() << "\n  "
                                << absl::StrJoin(problems, "\n  ") << "\n"
                                << report.DebugString();
}

// Proves --fix makes every fixed build compliant, keeps every line it does
// not edit (comments included) and is idempotent; denies stay denies.
TEST_P(LintCorpus, FixesMakeBuildsCompliant) {
  const PipelineCaseFile& c = GetParam();
  if (!c.data.expect_error().empty()) GTEST_SKIP() << "no report to fix";
  auto policy = Policy(c);
  ASSERT_NE(policy, nullptr);
  auto before = lint::LintDocument(*policy, c.pipeline_text, c.pipeline_name);
  ASSERT_TRUE(before.ok()) << before.status();
  const lint::FileFix fix = lint::PlanFixes(c.pipeline_text, *before);
  const std::string fixed = lint::ApplyFixes(c.pipeline_text, fix);
  auto after = lint::LintDocument(*policy, fixed, c.pipeline_name);
  ASSERT_TRUE(after.ok()) << after.status() << "\n" << fixed;
  ASSERT_EQ(after->report.findings_size(), before->report.findings_size()) << fixed;
  for (const lint::FindingFix& ff : fix.findings) {
    const v1::Finding& now = after->report.findings(ff.finding);
    if (ff.edits.empty()) continue;
    EXPECT_EQ(now.verdict(), v1::VERDICT_ALLOW)
        << c.name << ": finding " << ff.finding << " after its fix:\n"
        << now.DebugString() << "\n"
        << lint::UnifiedDiff(c.pipeline_text, fixed, c.pipeline_name);
  }
  for (int i = 0; i < before->report.findings_size(); ++i) {
    const v1::Verdict was = before->report.findings(i).verdict();
    if (was == v1::VERDICT_ALLOW || was == v1::VERDICT_DENY) {
      EXPECT_EQ(after->report.findings(i).verdict(), was) << c.name << ": finding " << i;
    }
  }
  // Idempotent: nothing left to edit where a fix was applied.
  const lint::FileFix again = lint::PlanFixes(fixed, *after);
  for (const lint::FindingFix& ff : again.findings) {
    EXPECT_TRUE(ff.edits.empty()) << c.name << ": finding " << ff.finding << " edited twice";
  }
  // Comment lines are untouched.
  auto comments = [](const std::string& text) {
    std::vector<std::string> out;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (line.find('#') != absl::string_view::npos) out.emplace_back(line);
    }
    return out;
  };
  EXPECT_EQ(comments(fixed), comments(c.pipeline_text)) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Pipelines, LintCorpus, ::testing::ValuesIn(Cases()),
                         [](const auto& info) {
                           std::string name = info.param.name.substr(0, info.param.name.size() - 5);
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// Proves the corpus is as large as the issue asks and covers its shapes.
TEST(LintCorpusShape, AtLeast25PipelinesWithEveryKindOfFinding) {
  EXPECT_GE(Cases().size(), 25u);
  std::set<v1::ReasonCode> rules;
  for (const PipelineCaseFile& c : Cases()) {
    for (const v1::Finding& f : c.data.expect().findings()) rules.insert(f.rule());
  }
  for (v1::ReasonCode code : {v1::TEMPLATE_NOT_EXPANDED, v1::RUNTIME_INPUT, v1::UNMANAGED_BUILD,
                              v1::HARNESS_IDENTIFIER_INVALID, v1::REQUEST_OVERRIDDEN,
                              v1::REGISTRY_NOT_ALLOWED, v1::NO_ADMISSIBLE_BUILDER}) {
    EXPECT_TRUE(rules.count(code)) << "no case expects " << v1::ReasonCode_Name(code);
  }
}

// Proves every reason code has help text for SARIF rules.
TEST(ReasonHelp, EveryCodeHasHelp) {
  const auto* d = v1::ReasonCode_descriptor();
  for (int i = 0; i < d->value_count(); ++i) {
    const auto code = static_cast<v1::ReasonCode>(d->value(i)->number());
    if (code == v1::REASON_CODE_UNSPECIFIED) continue;
    EXPECT_FALSE(lint::ReasonHelp(code).empty()) << d->value(i)->name();
  }
}

}  // namespace
}  // namespace buildgate
