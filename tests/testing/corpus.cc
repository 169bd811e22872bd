#include "tests/testing/corpus.h"


#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/enum_names.h"
#include "engine/proto_text.h"
#include "gtest/gtest.h"
#include "tests/testing/message_subset.h"

namespace buildgate::testing {

std::vector<CorpusCase> LoadCorpus(const std::string& dir) {
  std::vector<std::string> errors;
  std::vector<CorpusCase> out = LoadCorpusFiles(dir, &errors);
  for (const auto& e : errors) ADD_FAILURE() << e;
  return out;
}

std::vector<std::string> CheckOutcome(const v1::DecisionCase& c, const absl::Status& status,
                                      const v1::Decision& decision) {
  std::vector<std::string> out;
  if (!c.expect_error().empty()) {
    if (status.ok()) {
      out.push_back(absl::StrCat("expected an error containing \"", c.expect_error(),
                                 "\" but got verdict ", EnumName(decision.verdict())));
    } else if (status.code() != absl::StatusCode::kInvalidArgument ||
               !absl::StrContains(status.message(), c.expect_error())) {
      out.push_back(absl::StrCat("expected INVALID_ARGUMENT containing \"", c.expect_error(),
                                 "\", got ", status.ToString()));
    }
    return out;
  }
  if (!status.ok()) {
    out.push_back(absl::StrCat("unexpected error: ", status.ToString()));
    return out;
  }
  if (c.expect().verdict() == v1::VERDICT_UNSPECIFIED) out.push_back("case has no expect.verdict");
  for (auto& m : SubsetMismatches(c.expect(), decision)) out.push_back(std::move(m));
  for (int code : c.absent_reasons()) {
    for (const auto& r : decision.reasons()) {
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

}  // namespace buildgate::testing
