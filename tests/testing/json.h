// Test helper: is a line one valid JSON object? Uses protobuf's JSON parser
// (a real parser, not a pattern), so a torn or interleaved line fails.
//
// Thread-safe: pure.
#ifndef BUILDGATE_TESTS_TESTING_JSON_H_
#define BUILDGATE_TESTS_TESTING_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace buildgate::testing {

// OK if `line` is exactly one JSON object; otherwise the parser's error.
absl::Status ParseJsonObject(absl::string_view line);

// Checks every non-empty line of `text`; the first failure names its line
// number. `lines` (if not null) receives how many lines were checked.
absl::Status EveryLineIsJsonObject(absl::string_view text, int* lines = nullptr);

}  // namespace buildgate::testing

#endif  // BUILDGATE_TESTS_TESTING_JSON_H_
