// Loading the decision corpus (tests/cases/*.yaml, DecisionCase messages)
// without GoogleTest, for the tests and the benchmarks alike.
//
// Thread-safe: pure functions over files.
#ifndef BUILDGATE_TESTS_TESTING_CORPUS_FILES_H_
#define BUILDGATE_TESTS_TESTING_CORPUS_FILES_H_

#include <ostream>
#include <string>
#include <vector>

#include "buildgate/v1/decision.pb.h"

namespace buildgate::testing {

struct CorpusCase {
  std::string name;  // File name without directory.
  v1::DecisionCase data;
};

// Names a case in test output instead of a byte dump.
inline void PrintTo(const CorpusCase& c, std::ostream* os) { *os << c.name; }

// Every *.yaml under `dir`, sorted by name. Files that do not parse are left
// out and described in `errors` (if given).
std::vector<CorpusCase> LoadCorpusFiles(const std::string& dir,
                                        std::vector<std::string>* errors = nullptr);

}  // namespace buildgate::testing

#endif  // BUILDGATE_TESTS_TESTING_CORPUS_FILES_H_
