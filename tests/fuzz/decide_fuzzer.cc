// Fuzz target: compile + decide on parsed input. The input is a policy
// document and a step document separated by a line "---8<---"; both are
// parsed, the policy compiled and the step decided twice (same bytes).
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "buildgate/v1/policy.pb.h"
#include "engine/compiled_policy.h"
#include "input/proto_text.h"
#include "tests/fuzz/fuzz_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr absl::string_view kCut = "\n---8<---\n";
  const std::size_t cut = input.find(kCut);
  if (cut == absl::string_view::npos) return 0;
  buildgate::v1::PolicySet policy;
  if (!buildgate::ParseYamlToMessage(input.substr(0, cut), "policy.yaml", &policy).ok()) return 0;
  auto compiled = buildgate::CompiledPolicySet::Compile(policy);
  if (!compiled.ok()) {
    if (compiled.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  buildgate::v1::BuildStep step;
  if (!buildgate::ParseYamlToMessage(input.substr(cut + kCut.size()), "step.yaml", &step).ok()) return 0;
  buildgate::fuzz::DecideTwiceAndCompare(**compiled, step);
  return 0;
}
