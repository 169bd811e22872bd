// Fuzz target: policy files (YAML and JSON share the parser) through
// ParseYamlToMessage and CompiledPolicySet::Compile. Any input must give a
// compiled set or an INVALID_ARGUMENT naming where, never a crash, a
// sanitizer report or unbounded memory.
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "buildgate/v1/policy.pb.h"
#include "engine/compiled_policy.h"
#include "input/proto_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  buildgate::v1::PolicySet set;
  const absl::Status parsed = buildgate::ParseYamlToMessage(text, "fuzz.yaml", &set);
  if (!parsed.ok()) {
    if (parsed.code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  auto compiled = buildgate::CompiledPolicySet::Compile(set);
  if (!compiled.ok() && compiled.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
  return 0;
}
