#include "lint/policy_tests.h"

#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/status.h"
#include "engine/decide.h"
#include "engine/enum_names.h"
#include "input/proto_text.h"
#include "lint/lint.h"
#include "lint/message_subset.h"

namespace buildgate::lint {
namespace {

std::string Resolve(const std::string& test_path, const std::string& relative) {
  return (std::filesystem::path(test_path).parent_path() / relative).lexically_normal().string();
}

}  // namespace

absl::StatusOr<LoadedPolicyTests> LoadPolicyTestFile(const std::string& path) {
  LoadedPolicyTests out;
  out.path = path;
  BG_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  BG_RETURN_IF_ERROR(ParseYamlToMessage(text, path, &out.file));
  const v1::PolicyTestFile& f = out.file;
  if (f.has_policy_set()) {
    auto compiled = CompiledPolicySet::Compile(f.policy_set());
    if (!compiled.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": policy_set.", compiled.status().message()));
    }
    out.policy = *std::move(compiled);
  } else if (!f.policy_file().empty()) {
    out.policy_path = Resolve(path, f.policy_file());
    BG_ASSIGN_OR_RETURN(const std::string policy_text, ReadFileToString(out.policy_path));
    BG_ASSIGN_OR_RETURN(out.policy,
                        CompiledPolicySet::ParseAndCompile(policy_text, out.policy_path));
  } else {
    return InvalidField(absl::StrCat(path, ": policy_file"),
                        "required (or policy_set inline)");
  }
  if (f.cases().empty()) return InvalidField(absl::StrCat(path, ": cases"), "at least one case");
  std::set<std::string> names;
  for (int i = 0; i < f.cases_size(); ++i) {
    const v1::PolicyTestCase& c = f.cases(i);
    const std::string at = absl::StrCat(path, ": cases[", i, "]");
    if (c.name().empty()) return InvalidField(at + ".name", "required");
    if (!names.insert(c.name()).second) {
      return InvalidField(at + ".name", absl::StrCat(QuoteInput(c.name()), " is used twice"));
    }
    std::string name, pipeline;
    switch (c.input_case()) {
      case v1::PolicyTestCase::kStep:
        if (c.has_expect_report()) {
          return InvalidField(at + ".expect_report", "a step case expects a decision");
        }
        break;
      case v1::PolicyTestCase::kPipelineFile: {
        const std::string file = Resolve(path, c.pipeline_file());
        BG_ASSIGN_OR_RETURN(pipeline, ReadFileToString(file));
        name = std::filesystem::path(file).filename().string();
        break;
      }
      case v1::PolicyTestCase::kPipeline:
        pipeline = c.pipeline();
        name = c.name();
        break;
      default:
        return InvalidField(at, "needs a step, pipeline_file or pipeline");
    }
    if (c.input_case() != v1::PolicyTestCase::kStep &&
        (c.has_expect_decision() || c.absent_reasons_size() > 0)) {
      return InvalidField(at + ".expect_decision", "a pipeline case expects a report");
    }
    if (c.expect_error().empty() && !c.has_expect_decision() && !c.has_expect_report()) {
      return InvalidField(at, "expects nothing: give expect_decision, expect_report or "
                              "expect_error");
    }
    out.pipeline_names.push_back(std::move(name));
    out.pipeline_texts.push_back(std::move(pipeline));
  }
  return out;
}

std::vector<v1::PolicyTestResult> RunPolicyTests(const LoadedPolicyTests& tests) {
  std::vector<v1::PolicyTestResult> results;
  for (int i = 0; i < tests.file.cases_size(); ++i) {
    const v1::PolicyTestCase& c = tests.file.cases(i);
    v1::PolicyTestResult r;
    r.set_file(tests.path);
    r.set_name(c.name());
    std::vector<std::string> failures;
    if (c.input_case() == v1::PolicyTestCase::kStep) {
      v1::Decision decision;
      const absl::Status status = Decide(*tests.policy, c.step(), &decision);
      failures = DecisionMismatches(
          c.expect_decision(), c.absent_reasons(), c.expect_error(), status, decision);
    } else {
      auto lint = LintDocument(*tests.policy, tests.pipeline_texts[i], tests.pipeline_names[i]);
      failures = ReportMismatches(c.expect_report(), c.expect_error(), lint.status(),
                                  lint.ok() ? lint->report : v1::LintReport());
    }
    r.set_passed(failures.empty());
    for (std::string& f : failures) r.add_failures(std::move(f));
    results.push_back(std::move(r));
  }
  return results;
}

std::vector<std::string> DecisionMismatches(const v1::Decision& expect,
                                            const google::protobuf::RepeatedField<int>& absent_reasons,
                                            const std::string& expect_error,
                                            const absl::Status& status,
                                            const v1::Decision& decision) {
  std::vector<std::string> out;
  if (!expect_error.empty()) {
    if (status.ok()) {
      out.push_back(absl::StrCat("expected an error containing \"", expect_error,
                                 "\" but got verdict ", EnumName(decision.verdict())));
    } else if (status.code() != absl::StatusCode::kInvalidArgument ||
               !absl::StrContains(status.message(), expect_error)) {
      out.push_back(absl::StrCat("expected INVALID_ARGUMENT containing \"", expect_error,
                                 "\", got ", status.ToString()));
    }
    return out;
  }
  if (!status.ok()) {
    out.push_back(absl::StrCat("unexpected error: ", status.ToString()));
    return out;
  }
  if (expect.verdict() == v1::VERDICT_UNSPECIFIED) out.push_back("the case states no verdict");
  for (std::string& m : SubsetMismatches(expect, decision)) out.push_back(std::move(m));
  for (int code : absent_reasons) {
    for (const v1::Reason& r : decision.reasons()) {
      if (r.code() == code) {
        out.push_back(absl::StrCat("reason ", EnumName(r.code()),
                                   " present but listed in absent_reasons"));
      }
    }
  }
  // Every decision, whatever the case, must explain itself.
  if (decision.reasons().empty()) out.push_back("decision has no reasons");
  if (decision.verdict() == v1::VERDICT_ALLOW && decision.changes_size() > 0) {
    out.push_back("VERDICT_ALLOW with changes");
  }
  if (decision.verdict() == v1::VERDICT_ALLOW_WITH_CHANGES && decision.changes_size() == 0) {
    out.push_back("VERDICT_ALLOW_WITH_CHANGES without changes");
  }
  if (decision.verdict() == v1::VERDICT_DENY && decision.remediations_size() == 0) {
    out.push_back("VERDICT_DENY without remediations");
  }
  return out;
}

std::vector<std::string> ReportMismatches(const v1::LintReport& expect,
                                          const std::string& expect_error,
                                          const absl::Status& status,
                                          const v1::LintReport& report) {
  std::vector<std::string> problems;
  if (!expect_error.empty()) {
    if (status.ok()) {
      problems.push_back(absl::StrCat("expected an error containing \"", expect_error,
                                      "\", got a report with ", report.findings_size(),
                                      " findings"));
    } else if (!absl::StrContains(status.message(), expect_error)) {
      problems.push_back(
          absl::StrCat("error \"", status.message(), "\" lacks \"", expect_error, "\""));
    }
    return problems;
  }
  if (!status.ok()) {
    problems.push_back(absl::StrCat("unexpected error: ", status.message()));
    return problems;
  }
  if (expect.findings_size() != report.findings_size()) {
    problems.push_back(absl::StrCat("expected ", expect.findings_size(), " findings, got ",
                                    report.findings_size()));
  }
  if (expect.steps_seen() != 0 && expect.steps_seen() != report.steps_seen()) {
    problems.push_back(absl::StrCat("steps_seen: expected ", expect.steps_seen(), ", got ",
                                    report.steps_seen()));
  }
  if (expect.builds() != 0 && expect.builds() != report.builds()) {
    problems.push_back(
        absl::StrCat("builds: expected ", expect.builds(), ", got ", report.builds()));
  }
  if (!expect.skipped().empty() && expect.skipped() != report.skipped()) {
    problems.push_back(absl::StrCat("skipped: expected \"", expect.skipped(), "\", got \"",
                                    report.skipped(), "\""));
  }
  // Documents, when the case lists them: each as listed, none more.
  if (expect.documents_size() > 0) {
    if (expect.documents_size() != report.documents_size()) {
      problems.push_back(absl::StrCat("expected ", expect.documents_size(), " documents, got ",
                                      report.documents_size()));
    }
    for (int i = 0; i < expect.documents_size() && i < report.documents_size(); ++i) {
      if (expect.documents(i).SerializeAsString() != report.documents(i).SerializeAsString()) {
        problems.push_back(absl::StrCat("documents[", i, "]: expected {",
                                        expect.documents(i).ShortDebugString(), "}, got {",
                                        report.documents(i).ShortDebugString(), "}"));
      }
    }
  }
  for (int i = 0; i < expect.findings_size() && i < report.findings_size(); ++i) {
    if (expect.findings(i).verdict() == v1::VERDICT_UNSPECIFIED &&
        report.findings(i).verdict() != v1::VERDICT_UNSPECIFIED) {
      problems.push_back(absl::StrCat("findings[", i, "]: expected undecidable, got ",
                                      EnumName(report.findings(i).verdict())));
    }
    for (const std::string& m : SubsetMismatches(expect.findings(i), report.findings(i))) {
      problems.push_back(absl::StrCat("findings[", i, "].", m));
    }
  }
  return problems;
}

}  // namespace buildgate::lint
