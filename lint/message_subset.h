// Checks that every field set in `expected` matches `actual`.
//
// Singular fields are compared when set in `expected` (present, for fields
// with presence; non-default, for plain proto3 scalars). Each element of a
// repeated field in `expected` must match some element of `actual`'s list,
// recursively by the same rule. Used by policy tests (policy_tests.h) and
// the corpora, whose cases state only what they are about.
//
// Thread-safe: pure.
#ifndef BUILDGATE_LINT_MESSAGE_SUBSET_H_
#define BUILDGATE_LINT_MESSAGE_SUBSET_H_

#include <string>
#include <vector>

#include "google/protobuf/message.h"

namespace buildgate::lint {

// Returns one line per mismatch, each naming the field path; empty if all
// expectations hold.
std::vector<std::string> SubsetMismatches(const google::protobuf::Message& expected,
                                          const google::protobuf::Message& actual);

}  // namespace buildgate::lint

#endif  // BUILDGATE_LINT_MESSAGE_SUBSET_H_
