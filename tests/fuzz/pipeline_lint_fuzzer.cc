// Fuzz target: pipeline documents through the lint layer under the example
// policy "acme". Every input gives a report or an INVALID_ARGUMENT; a
// report's fixes, applied, give a document that still lints, with as many
// findings.
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "lint/fix.h"
#include "lint/lint.h"
#include "tests/fuzz/fuzz_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const buildgate::CompiledPolicySet& policy = buildgate::fuzz::ExamplePolicy();
  auto result = buildgate::lint::LintDocument(policy, text, "fuzz.yaml");
  if (!result.ok()) {
    if (result.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  const buildgate::lint::FileFix fix = buildgate::lint::PlanFixes(text, *result);
  const std::string fixed = buildgate::lint::ApplyFixes(text, fix);
  if (fixed == text) return 0;
  auto again = buildgate::lint::LintDocument(policy, fixed, "fuzz.yaml");
  if (!again.ok() || again->report.findings_size() != result->report.findings_size()) std::abort();
  (void)buildgate::lint::UnifiedDiff(text, fixed, "fuzz.yaml");
  return 0;
}
