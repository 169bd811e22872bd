#include "tests/testing/corpus.h"

#include "absl/strings/str_cat.h"
#include "engine/decide.h"

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

std::string BasicViewMismatch(const CompiledPolicySet& set, const v1::BuildStep& step,
                              const v1::Decision& full) {
  v1::Decision basic;
  if (absl::Status s = Decide(set, step, &basic, v1::DECISION_VIEW_BASIC); !s.ok()) {
    return absl::StrCat("BASIC failed where FULL decided: ", s.ToString());
  }
  v1::Decision trimmed = full;
  ApplyView(v1::DECISION_VIEW_BASIC, &trimmed);
  if (basic.SerializeAsString() == trimmed.SerializeAsString()) return "";
  return absl::StrCat("BASIC:\n", basic.DebugString(), "FULL trimmed:\n", trimmed.DebugString());
}

}  // namespace buildgate::testing
