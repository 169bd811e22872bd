#include "tests/testing/corpus.h"

#include "absl/strings/str_cat.h"
#include "engine/decide.h"
#include "engine/shape_memo_bypass.h"

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

std::string MemoMismatch(const CompiledPolicySet& set, const v1::BuildStep& step) {
  for (v1::DecisionView view : {v1::DECISION_VIEW_FULL, v1::DECISION_VIEW_BASIC}) {
    v1::Decision fresh, memo, hit;
    absl::Status fresh_status;
    {
      ShapeMemoBypass bypass;
      fresh_status = Decide(set, step, &fresh, view);
    }
    const absl::Status memo_status = Decide(set, step, &memo, view);
    const absl::Status hit_status = Decide(set, step, &hit, view);
    const std::string name = v1::DecisionView_Name(view);
    if (fresh_status != memo_status || fresh_status != hit_status) {
      return absl::StrCat(name, ": fresh ", fresh_status.ToString(), ", memoized ",
                          memo_status.ToString(), ", hit ", hit_status.ToString());
    }
    const std::string want = fresh.SerializeAsString();
    if (memo.SerializeAsString() != want || hit.SerializeAsString() != want) {
      return absl::StrCat(name, " fresh:\n", fresh.DebugString(), "memoized:\n", memo.DebugString(),
                          "hit:\n", hit.DebugString());
    }
  }
  return "";
}

}  // namespace buildgate::testing
