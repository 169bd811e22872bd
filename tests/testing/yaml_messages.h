// Test helpers: a build step or a compiled policy set from YAML text, as
// tests write them. A text that does not parse (or a set that does not
// compile) fails the calling test (EXPECT) and yields an empty step or
// nullptr.
//
// Thread-safe: pure functions (GoogleTest's assertions are thread-safe).
#ifndef BUILDGATE_TESTS_TESTING_YAML_MESSAGES_H_
#define BUILDGATE_TESTS_TESTING_YAML_MESSAGES_H_

#include <memory>
#include <string>

#include "buildgate/v1/step.pb.h"
#include "engine/compiled_policy.h"

namespace buildgate::testing {

v1::BuildStep Step(const std::string& yaml);
std::shared_ptr<const CompiledPolicySet> Compile(const std::string& yaml);

}  // namespace buildgate::testing

#endif  // BUILDGATE_TESTS_TESTING_YAML_MESSAGES_H_
