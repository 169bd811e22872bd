// Policy tests (`buildgate test`, the decision and pipeline corpora): load
// a v1::PolicyTestFile with its policy and pipeline files, run each case
// (a step through Decide, a pipeline through LintDocument) and compare the
// outcome with the case's expectation. The one place expectations are
// compared, so the CLI and the test suites agree on what "passes" means.
//
// Thread-safe: pure functions (files are read by LoadPolicyTestFile only).
#ifndef BUILDGATE_LINT_POLICY_TESTS_H_
#define BUILDGATE_LINT_POLICY_TESTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/lint.pb.h"
#include "engine/compiled_policy.h"
#include "google/protobuf/repeated_field.h"

namespace buildgate::lint {

// A test file with everything it refers to, read and compiled.
struct LoadedPolicyTests {
  std::string path;
  v1::PolicyTestFile file;
  std::string policy_path;  // "" for an inline policy.
  std::shared_ptr<const CompiledPolicySet> policy;
  // Per case: the pipeline document's name and text ("" for a step).
  std::vector<std::string> pipeline_names;
  std::vector<std::string> pipeline_texts;
};

// Reads the test file at `path` and what it names (files are relative to
// it). Errors name the file (and line:column for YAML errors).
absl::StatusOr<LoadedPolicyTests> LoadPolicyTestFile(const std::string& path);

// Runs every case.
std::vector<v1::PolicyTestResult> RunPolicyTests(const LoadedPolicyTests& tests);

// The mismatches between a decision outcome (`status`, and `decision` when
// OK) and what a case expects; empty when it holds. Every decision must
// also explain itself (reasons; changes iff ALLOW_WITH_CHANGES;
// remediations on deny).
std::vector<std::string> DecisionMismatches(const v1::Decision& expect,
                                            const google::protobuf::RepeatedField<int>& absent_reasons,
                                            const std::string& expect_error,
                                            const absl::Status& status,
                                            const v1::Decision& decision);

// The same for a lint outcome: findings compared in order, their number,
// steps_seen and builds; a finding expected without a verdict must be
// undecidable.
std::vector<std::string> ReportMismatches(const v1::LintReport& expect,
                                          const std::string& expect_error,
                                          const absl::Status& status,
                                          const v1::LintReport& report);

}  // namespace buildgate::lint

#endif  // BUILDGATE_LINT_POLICY_TESTS_H_
