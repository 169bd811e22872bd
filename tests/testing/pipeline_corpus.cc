#include "tests/testing/pipeline_corpus.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "engine/proto_text.h"
#include "gtest/gtest.h"
#include "tests/testing/message_subset.h"

namespace buildgate::testing {

std::vector<PipelineCaseFile> LoadPipelineCases(const std::string& dir) {
  std::vector<PipelineCaseFile> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    PipelineCaseFile c;
    c.name = entry.path().filename().string();
    auto text = ReadFileToString(entry.path().string());
    absl::Status status = text.status();
    if (status.ok()) status = ParseYamlToMessage(*text, c.name, &c.data);
    const std::filesystem::path base = entry.path().parent_path();
    c.policy_path = (base / c.data.policy_file()).lexically_normal().string();
    c.pipeline_path = (base / c.data.pipeline_file()).lexically_normal().string();
    c.pipeline_name = std::filesystem::path(c.pipeline_path).filename().string();
    if (status.ok()) {
      auto policy = ReadFileToString(c.policy_path);
      auto pipeline = ReadFileToString(c.pipeline_path);
      status = !policy.ok() ? policy.status() : pipeline.status();
      if (status.ok()) {
        c.policy_text = *policy;
        c.pipeline_text = *pipeline;
      }
    }
    if (!status.ok()) {
      ADD_FAILURE() << c.name << ": " << status;
      continue;
    }
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const PipelineCaseFile& a, const PipelineCaseFile& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> CheckLintOutcome(const PipelineCaseFile& c, const absl::Status& status,
                                          const v1::LintReport& report) {
  std::vector<std::string> problems;
  if (!c.data.expect_error().empty()) {
    if (status.ok()) {
      problems.push_back(absl::StrCat("expected an error containing \"", c.data.expect_error(),
                                      "\", got a report with ", report.findings_size(),
                                      " findings"));
    } else if (!absl::StrContains(status.message(), c.data.expect_error())) {
      problems.push_back(absl::StrCat("error \"", status.message(), "\" lacks \"",
                                      c.data.expect_error(), "\""));
    }
    return problems;
  }
  if (!status.ok()) {
    problems.push_back(absl::StrCat("unexpected error: ", status.message()));
    return problems;
  }
  const v1::LintReport& expect = c.data.expect();
  if (expect.findings_size() != report.findings_size()) {
    problems.push_back(absl::StrCat("expected ", expect.findings_size(), " findings, got ",
                                    report.findings_size()));
  }
  if (expect.steps_seen() != report.steps_seen()) {
    problems.push_back(absl::StrCat("steps_seen: expected ", expect.steps_seen(), ", got ",
                                    report.steps_seen()));
  }
  if (expect.builds() != report.builds()) {
    problems.push_back(
        absl::StrCat("builds: expected ", expect.builds(), ", got ", report.builds()));
  }
  for (int i = 0; i < expect.findings_size() && i < report.findings_size(); ++i) {
    // A case states every decided finding's verdict; an expected finding
    // without one must be undecidable.
    if (expect.findings(i).verdict() == v1::VERDICT_UNSPECIFIED &&
        report.findings(i).verdict() != v1::VERDICT_UNSPECIFIED) {
      problems.push_back(absl::StrCat("findings[", i, "]: expected undecidable, got ",
                                      v1::Verdict_Name(report.findings(i).verdict())));
    }
    for (const std::string& m : SubsetMismatches(expect.findings(i), report.findings(i))) {
      problems.push_back(absl::StrCat("findings[", i, "].", m));
    }
  }
  return problems;
}

}  // namespace buildgate::testing
