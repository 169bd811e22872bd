#include "tests/testing/yaml_messages.h"

#include "input/proto_text.h"
#include "gtest/gtest.h"

namespace buildgate::testing {

v1::BuildStep Step(const std::string& yaml) {
  v1::BuildStep step;
  const absl::Status s = ParseYamlToMessage(yaml, "step.yaml", &step);
  EXPECT_TRUE(s.ok()) << s;
  return step;
}

std::shared_ptr<const CompiledPolicySet> Compile(const std::string& yaml) {
  v1::PolicySet set;
  const absl::Status s = ParseYamlToMessage(yaml, "policy.yaml", &set);
  EXPECT_TRUE(s.ok()) << s;
  auto compiled = CompiledPolicySet::Compile(set);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *compiled : nullptr;
}

}  // namespace buildgate::testing
