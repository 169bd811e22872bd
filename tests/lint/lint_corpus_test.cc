// The pipeline corpus (tests/pipelines) through the lint library, and every
// case's fixes applied and linted again.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/compiled_policy.h"
#include "gtest/gtest.h"
#include "lint/fix.h"
#include "lint/lint.h"
#include "lint/policy_tests.h"
#include "lint/report.h"

namespace buildgate {
namespace {

// One corpus file: a policy and one pipeline case.
struct CorpusFile {
  std::string name;
  lint::LoadedPolicyTests tests;
};
void PrintTo(const CorpusFile& c, std::ostream* os) { *os << c.name; }

const std::vector<CorpusFile>& Cases() {
  static const auto* cases = [] {
    auto* out = new std::vector<CorpusFile>;
    const std::string dir = BUILDGATE_SOURCE_DIR "/tests/pipelines/cases";
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      auto loaded = lint::LoadPolicyTestFile(entry.path().string());
      if (!loaded.ok()) {
        ADD_FAILURE() << loaded.status();
        continue;
      }
      out->push_back({entry.path().filename().string(), *std::move(loaded)});
    }
    std::sort(out->begin(), out->end(),
              [](const CorpusFile& a, const CorpusFile& b) { return a.name < b.name; });
    return out;
  }();
  return *cases;
}

class LintCorpus : public ::testing::TestWithParam<CorpusFile> {};

// Proves each pipeline's findings (or error) are the ones its case expects.
TEST_P(LintCorpus, FindingsMatchExpectation) {
  const CorpusFile& c = GetParam();
  ASSERT_EQ(c.tests.file.cases_size(), 1);
  for (const v1::PolicyTestResult& r : lint::RunPolicyTests(c.tests)) {
    EXPECT_TRUE(r.passed()) << c.name << ": " << c.tests.file.description() << "\n  "
                            << absl::StrJoin(r.failures(), "\n  ");
  }
}

// Proves --fix makes every fixed build compliant, keeps every line it does
// not edit (comments included) and is idempotent; denies stay denies.
TEST_P(LintCorpus, FixesMakeBuildsCompliant) {
  const CorpusFile& c = GetParam();
  if (!c.tests.file.cases(0).expect_error().empty()) GTEST_SKIP() << "no report to fix";
  const CompiledPolicySet* policy = c.tests.policy.get();
  const std::string& text = c.tests.pipeline_texts[0];
  const std::string& name = c.tests.pipeline_names[0];
  auto before = lint::LintDocument(*policy, text, name);
  ASSERT_TRUE(before.ok()) << before.status();
  const lint::FileFix fix = lint::PlanFixes(text, *before);
  const std::string fixed = lint::ApplyFixes(text, fix);
  auto after = lint::LintDocument(*policy, fixed, name);
  ASSERT_TRUE(after.ok()) << after.status() << "\n" << fixed;
  ASSERT_EQ(after->report.findings_size(), before->report.findings_size()) << fixed;
  for (const lint::FindingFix& ff : fix.findings) {
    const v1::Finding& now = after->report.findings(ff.finding);
    if (ff.edits.empty()) continue;
    EXPECT_EQ(now.verdict(), v1::VERDICT_ALLOW)
        << c.name << ": finding " << ff.finding << " after its fix:\n"
        << now.DebugString() << "\n"
        << lint::UnifiedDiff(text, fixed, name);
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
  EXPECT_EQ(comments(fixed), comments(text)) << c.name;
}

// Proves a fix that is not applied (it would lose what the user wrote) is
// reported as not applied, with a suggested diff, and that its edits, on
// top of the applied ones, give the build buildgate decided (ALLOW).
TEST_P(LintCorpus, SuggestedFixesGiveTheDecidedBuild) {
  const CorpusFile& c = GetParam();
  if (!c.tests.file.cases(0).expect_error().empty()) GTEST_SKIP() << "no report to fix";
  const CompiledPolicySet* policy = c.tests.policy.get();
  const std::string& text = c.tests.pipeline_texts[0];
  const std::string& name = c.tests.pipeline_names[0];
  auto before = lint::LintDocument(*policy, text, name);
  ASSERT_TRUE(before.ok()) << before.status();
  const lint::FileFix fix = lint::PlanFixes(text, *before);
  const std::vector<lint::UnappliedFix> unapplied = lint::UnappliedFixes(text, fix, name);
  lint::FileFix suggested = fix;  // Every fix, applied or only suggested.
  std::set<int> suggested_findings;
  for (lint::FindingFix& ff : suggested.findings) {
    if (ff.incomplete_edits.empty()) continue;
    EXPECT_TRUE(ff.edits.empty()) << c.name << ": finding " << ff.finding;
    EXPECT_FALSE(ff.skipped.empty()) << c.name << ": finding " << ff.finding;
    ff.edits = ff.incomplete_edits;
    suggested_findings.insert(ff.finding);
  }
  std::set<int> reported;
  for (const lint::UnappliedFix& u : unapplied) {
    EXPECT_FALSE(u.suggested_diff.empty()) << c.name << ": finding " << u.finding;
    reported.insert(u.finding);
  }
  EXPECT_EQ(reported, suggested_findings) << c.name;
  if (suggested_findings.empty()) return;
  const std::string fixed = lint::ApplyFixes(text, suggested);
  auto after = lint::LintDocument(*policy, fixed, name);
  ASSERT_TRUE(after.ok()) << after.status() << "\n" << fixed;
  ASSERT_EQ(after->report.findings_size(), before->report.findings_size()) << fixed;
  for (int i : suggested_findings) {
    EXPECT_EQ(after->report.findings(i).verdict(), v1::VERDICT_ALLOW)
        << c.name << ": finding " << i << " with its suggested fix:\n"
        << after->report.findings(i).DebugString() << "\n"
        << lint::UnifiedDiff(text, fixed, name);
  }
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
  for (const CorpusFile& c : Cases()) {
    for (const v1::Finding& f : c.tests.file.cases(0).expect_report().findings()) {
      rules.insert(f.rule());
    }
  }
  for (v1::ReasonCode code : {v1::TEMPLATE_NOT_EXPANDED, v1::RUNTIME_INPUT, v1::UNMANAGED_BUILD,
                              v1::HARNESS_IDENTIFIER_INVALID, v1::REQUEST_OVERRIDDEN,
                              v1::REGISTRY_NOT_ALLOWED, v1::NO_ADMISSIBLE_BUILDER,
                              v1::UNRECOGNISED_BUILD}) {
    EXPECT_TRUE(rules.count(code)) << "no case expects " << v1::ReasonCode_Name(code);
  }
}

// Proves the corpus has fixes that are only suggested (a Build and Push
// step whose push login a Buildah Plugin step cannot take), so the test
// above checks some.
TEST(LintCorpusShape, SomeFixesAreOnlySuggested) {
  int suggested = 0;
  for (const CorpusFile& c : Cases()) {
    auto linted =
        lint::LintDocument(*c.tests.policy, c.tests.pipeline_texts[0], c.tests.pipeline_names[0]);
    if (!linted.ok()) continue;
    for (const lint::FindingFix& ff :
         lint::PlanFixes(c.tests.pipeline_texts[0], *linted).findings) {
      suggested += ff.incomplete_edits.empty() ? 0 : 1;
    }
  }
  EXPECT_GE(suggested, 1);
}

// Proves a build lint cannot classify is a finding that needs a person,
// never "no build": the unlisted mirror's finding says which mirror to
// list, and counts as needing changes (exit 10), not compliant.
TEST(LintFailClosed, UnrecognisedBuildsAreFindingsThatNeedAPerson) {
  auto policy = lint::LoadPolicyTestFile(BUILDGATE_SOURCE_DIR
                                         "/tests/pipelines/cases/unlisted-plugin-mirror.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  auto result = lint::LintDocument(*policy->policy, policy->pipeline_texts[0], "mirror.yaml");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->report.findings_size(), 1);
  const v1::Finding& f = result->report.findings(0);
  EXPECT_EQ(f.rule(), v1::UNRECOGNISED_BUILD);
  EXPECT_EQ(f.verdict(), v1::VERDICT_UNSPECIFIED);
  EXPECT_EQ(lint::SeverityOf(f), lint::Severity::kNeedsChanges);
  EXPECT_TRUE(absl::StrContains(f.message(), "if \"harbor.acme.internal/dockerhub-proxy\" mirrors "
                                             "the official plugins, add it to the policy's "
                                             "plugin_mirrors"))
      << f.message();
  // Listing the mirror makes it a decided build.
  v1::PolicySet with_mirror = policy->policy->source();
  with_mirror.mutable_policy()->add_plugin_mirrors("harbor.acme.internal/dockerhub-proxy");
  auto compiled = CompiledPolicySet::Compile(with_mirror);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  auto decided = lint::LintDocument(**compiled, policy->pipeline_texts[0], "mirror.yaml");
  ASSERT_TRUE(decided.ok()) << decided.status();
  ASSERT_EQ(decided->report.findings_size(), 1);
  EXPECT_NE(decided->report.findings(0).verdict(), v1::VERDICT_UNSPECIFIED);
  EXPECT_EQ(decided->report.findings(0).decision().builder(), v1::BUILDER_BUILDAH);
}

// Proves linting is thread-safe: four threads lint the whole corpus under
// shared compiled policies and get the single-threaded reports, byte for byte.
TEST(LintConcurrency, ThreadsAgreeWithOneThread) {
  auto lint_all = [] {
    std::vector<std::string> out;
    for (const CorpusFile& c : Cases()) {
      auto r = lint::LintDocument(*c.tests.policy, c.tests.pipeline_texts[0],
                                  c.tests.pipeline_names[0]);
      out.push_back(r.ok() ? r->report.SerializeAsString() : std::string(r.status().message()));
    }
    return out;
  };
  const std::vector<std::string> expected = lint_all();
  std::vector<std::vector<std::string>> got(4);
  std::vector<std::thread> threads;
  for (auto& g : got) threads.emplace_back([&g, &lint_all] { g = lint_all(); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, expected);
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
