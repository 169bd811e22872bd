#include "grammar/expression.h"

#include <array>
#include <cstring>

#include "absl/strings/ascii.h"

namespace buildgate {

namespace {

// The characters the scan below acts on; every other one is passed over
// with one table lookup (expressions are mostly names and dots).
constexpr std::array<bool, 256> kExpressionSyntax = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : {'"', '\'', '\\', '<', '(', ')', '>'}) t[c] = true;
  return t;
}();

}  // namespace

std::size_t FindExpressionOpen(absl::string_view text, std::size_t from) {
  // memchr for each '<' (most values have none), then the '+' after it.
  while (from + 1 < text.size()) {
    const void* lt = std::memchr(text.data() + from, '<', text.size() - 1 - from);
    if (lt == nullptr) break;
    const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(lt) - text.data());
    if (text[at + 1] == '+') return at;
    from = at + 1;
  }
  return absl::string_view::npos;
}

std::size_t HarnessExpressionEnd(absl::string_view text, std::size_t start) {
  if (text.substr(start, 2) != "<+") return absl::string_view::npos;
  int depth = 0;   // Open <+ ... > levels.
  int parens = 0;  // Open ( ... ) inside the expression.
  char quote = 0;  // The quote we are inside, if any.
  for (std::size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (!kExpressionSyntax[static_cast<unsigned char>(c)]) continue;
    if (quote != 0) {
      if (c == '\\' && i + 1 < text.size()) {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '<' && i + 1 < text.size() && text[i + 1] == '+') {
      ++depth;
      ++i;
    } else if (c == '(') {
      ++parens;
    } else if (c == ')') {
      if (parens > 0) --parens;
    } else if (c == '>' && parens == 0) {
      if (--depth == 0) return i + 1;
    }
  }
  return absl::string_view::npos;
}

bool IsHarnessExpression(absl::string_view value) {
  return value.size() > 3 && HarnessExpressionEnd(value, 0) == value.size();
}

bool ContainsHarnessExpression(absl::string_view text) {
  for (std::size_t at = FindExpressionOpen(text); at != absl::string_view::npos;
       at = FindExpressionOpen(text, at + 1)) {
    if (HarnessExpressionEnd(text, at) != absl::string_view::npos) return true;
  }
  return false;
}

std::string LowerOutsideExpressions(absl::string_view text) {
  std::string out(text);
  std::size_t i = 0;
  while (i < out.size()) {
    const std::size_t at = FindExpressionOpen(text, i);
    const std::size_t stop = at == absl::string_view::npos ? out.size() : at;
    for (; i < stop; ++i) out[i] = absl::ascii_tolower(static_cast<unsigned char>(out[i]));
    if (at == absl::string_view::npos) break;
    const std::size_t end = HarnessExpressionEnd(text, at);
    // Expressions are case-sensitive: kept as written. A "<+" that opens
    // none is text like any other ('<' has no case).
    i = end == absl::string_view::npos ? at + 1 : end;
  }
  return out;
}

std::string MaskExpressions(absl::string_view text, char mask) {
  std::string out(text);
  for (std::size_t at = FindExpressionOpen(text); at != absl::string_view::npos;
       at = FindExpressionOpen(text, at)) {
    const std::size_t end = HarnessExpressionEnd(text, at);
    if (end == absl::string_view::npos) {
      ++at;
      continue;
    }
    for (std::size_t j = at; j < end; ++j) out[j] = mask;
    at = end;
  }
  return out;
}

absl::string_view MaskExpressionsView(absl::string_view text, char mask, std::string* storage) {
  if (FindExpressionOpen(text) == absl::string_view::npos) return text;
  *storage = MaskExpressions(text, mask);
  return *storage;
}

}  // namespace buildgate
