// Test helper: the decision corpus in tests/cases/*.yaml (DecisionCase
// messages). Shared by the engine corpus test and the server corpus test, so
// both run the same cases through their own path.
//
// Thread-safe: pure functions over files.
#ifndef BUILDGATE_TESTS_TESTING_CORPUS_H_
#define BUILDGATE_TESTS_TESTING_CORPUS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "buildgate/v1/decision.pb.h"
#include "engine/compiled_policy.h"
#include "tests/testing/corpus_files.h"

namespace buildgate::testing {

// Loads every *.yaml under `dir`, sorted by name. Fails the test (ADD_FAILURE)
// for a file that does not parse.
std::vector<CorpusCase> LoadCorpus(const std::string& dir);

// Checks an outcome against the case: `status` from compile/decide and the
// decision produced when it is OK. Returns mismatch lines; empty if it holds.
std::vector<std::string> CheckOutcome(const v1::DecisionCase& c, const absl::Status& status,
                                      const v1::Decision& decision);

// Checks the BASIC view of `full` (a FULL decision of `step` under `set`):
// Decide with DECISION_VIEW_BASIC must give exactly ApplyView(BASIC, full),
// byte for byte, and so a subset of it with every FULL-only field empty.
// Returns what differs; empty if it holds.
std::string BasicViewMismatch(const CompiledPolicySet& set, const v1::BuildStep& step,
                              const v1::Decision& full);

// Checks the shape memo (engine/internal/shape_memo.h): for each view, Decide on
// `step` computed fresh (under a ShapeMemoBypass), through the memo, and
// through the memo again (a hit, whatever filled it) must agree byte for
// byte. Returns what differs; empty if they agree.
std::string MemoMismatch(const CompiledPolicySet& set, const v1::BuildStep& step);

}  // namespace buildgate::testing

#endif  // BUILDGATE_TESTS_TESTING_CORPUS_H_
