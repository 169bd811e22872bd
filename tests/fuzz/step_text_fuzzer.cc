// Fuzz target: step files through ParseYamlToMessage, then Decide under the
// embedded example policy "acme". A parsed step must give a decision or an
// INVALID_ARGUMENT; the decision must render deterministically.
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/step.pb.h"
#include "engine/decide.h"
#include "input/proto_text.h"
#include "tests/fuzz/fuzz_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  buildgate::v1::BuildStep step;
  const absl::Status parsed = buildgate::ParseYamlToMessage(text, "fuzz.yaml", &step);
  if (!parsed.ok()) {
    if (parsed.code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  buildgate::fuzz::DecideTwiceAndCompare(buildgate::fuzz::ExamplePolicy(), step);
  return 0;
}
