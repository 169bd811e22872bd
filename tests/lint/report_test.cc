// Lint reports (lint/report.h): what a run looks like in SARIF.
#include "lint/report.h"

#include "gtest/gtest.h"
#include "lint/fix.h"
#include "lint/lint.h"
#include "tests/testing/json.h"
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

}  // namespace
}  // namespace buildgate::lint
