#include "tests/testing/corpus.h"


#include "gtest/gtest.h"
#include "lint/policy_tests.h"

namespace buildgate::testing {

std::vector<CorpusCase> LoadCorpus(const std::string& dir) {
  std::vector<std::string> errors;
  std::vector<CorpusCase> out = LoadCorpusFiles(dir, &errors);
  for (const auto& e : errors) ADD_FAILURE() << e;
  return out;
}

std::vector<std::string> CheckOutcome(const v1::DecisionCase& c, const absl::Status& status,
                                      const v1::Decision& decision) {
  return lint::DecisionMismatches(c.expect(), c.absent_reasons(), c.expect_error(), status,
                                  decision);
}

}  // namespace buildgate::testing
