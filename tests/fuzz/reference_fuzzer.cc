// Fuzz target: the Harness expression scanner (grammar/expression.h), the
// registry helpers (grammar/registry.h), the reference grammar
// (grammar/reference.h) and the allowlist matcher (grammar/allowlist.h) on
// arbitrary text, with the properties they promise: an expression's end lies
// inside the text and right after a '>', a whole expression is also
// "contained", masking keeps offsets, a parsed reference reassembles into its
// text, a pattern covers itself, and coverage is sound.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "grammar/allowlist.h"
#include "grammar/expression.h"
#include "grammar/reference.h"
#include "grammar/registry.h"

namespace {
using buildgate::v1::Destination;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::size_t at = text.find("<+"); at != absl::string_view::npos; at = text.find("<+", at + 1)) {
    const std::size_t end = buildgate::HarnessExpressionEnd(text, at);
    if (end != absl::string_view::npos && (end > text.size() || end < at + 3 || text[end - 1] != '>')) {
      std::abort();
    }
  }
  if (buildgate::IsHarnessExpression(text) && !buildgate::ContainsHarnessExpression(text)) std::abort();
  if (buildgate::MaskExpressions(text, '#').size() != text.size()) std::abort();
  (void)buildgate::RepositoryProblem(text);
  (void)buildgate::PluginMirrorProblem(text);
  // A reference that parses reassembles into its text (Docker Hub's host
  // dropped); an error is INVALID_ARGUMENT.
  if (auto ref = buildgate::ParseImageReference(text, "image"); ref.ok()) {
    std::string joined = ref->domain.empty() ? "" : std::string(ref->domain) + "/";
    joined += std::string(ref->repository);
    if (!ref->tag.empty()) joined += ":" + std::string(ref->tag);
    if (!ref->digest.empty()) joined += "@" + std::string(ref->digest);
    const bool tag_checked = !ref->tag.empty() && !ref->tag_is_expression;
    if (!absl::EndsWith(text, joined) || (tag_checked && !buildgate::TagProblem(ref->tag).empty())) {
      std::abort();
    }
  } else if (ref.status().code() != absl::StatusCode::kInvalidArgument) {
    std::abort();
  }
  // Every pattern covers itself; a pattern admits what a narrower one it
  // covers admits (the split at the first newline gives two patterns).
  if (!buildgate::AllowlistCovers(text, text)) std::abort();
  const std::size_t slash = text.find('\n');
  const absl::string_view registry = text.substr(0, slash);
  const absl::string_view repo = slash == absl::string_view::npos ? "" : text.substr(slash + 1);
  for (int d = buildgate::v1::Destination_MIN; d <= buildgate::v1::Destination_MAX; ++d) {
    if (!buildgate::v1::Destination_IsValid(d)) continue;
    const auto dest = static_cast<Destination>(d);
    const std::string host = buildgate::RegistryHost(dest, registry);
    (void)buildgate::RegistryShapeProblem(dest, host);
    const std::string target = buildgate::ResolvePushTarget(dest, host, repo).target;
    if (buildgate::AllowlistCovers(registry, repo) && buildgate::AllowlistAdmits(repo, target) &&
        !buildgate::AllowlistAdmits(registry, target)) {
      std::abort();
    }
  }
  return 0;
}
