// The pipeline corpus (tests/pipelines/cases/*.yaml, v1::PipelineCase
// files naming a policy file and a pipeline document): loading, and the one
// comparison of a lint outcome with a case's expectation, shared by the lint
// library, CLI and service tests.
//
// Thread-safe: pure functions over files.
#ifndef BUILDGATE_TESTS_TESTING_PIPELINE_CORPUS_H_
#define BUILDGATE_TESTS_TESTING_PIPELINE_CORPUS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "buildgate/v1/lint.pb.h"

namespace buildgate::testing {

struct PipelineCaseFile {
  std::string name;           // Case file name without directory.
  v1::PipelineCase data;
  std::string policy_path;    // Resolved against the case file.
  std::string pipeline_path;
  std::string pipeline_name;  // File name of the document (locations name it).
  std::string policy_text;
  std::string pipeline_text;
};

inline void PrintTo(const PipelineCaseFile& c, std::ostream* os) { *os << c.name; }

// Every case under `dir`, sorted; a case that cannot be loaded fails the
// calling test (ADD_FAILURE) and is left out.
std::vector<PipelineCaseFile> LoadPipelineCases(const std::string& dir);

// Mismatches between the outcome of linting the case (an error, or a report)
// and its expectation; empty when it holds.
std::vector<std::string> CheckLintOutcome(const PipelineCaseFile& c, const absl::Status& status,
                                          const v1::LintReport& report);

}  // namespace buildgate::testing

#endif  // BUILDGATE_TESTS_TESTING_PIPELINE_CORPUS_H_
