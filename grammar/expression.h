// Harness expressions (<+pipeline.variables.X>, <+secrets.getValue("Y")>):
// where they start and end, so that every other parser in the engine can
// leave them whole. A value holding an expression is unknown until the
// pipeline runs; it is carried verbatim, never split, lower-cased or guessed.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_GRAMMAR_EXPRESSION_H_
#define BUILDGATE_GRAMMAR_EXPRESSION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace buildgate {

// The index of the first "<+" (where an expression may open) at or after
// `from`, or npos. Every scan for expressions starts here.
std::size_t FindExpressionOpen(absl::string_view text, std::size_t from = 0);

// Where the Harness expression that opens at `start` ("<+") ends: the index
// just past its closing '>', or npos when `text` has no well-formed
// expression there. Nested expressions (<+a.<+b>>), parentheses and quoted
// strings (<+secrets.getValue("a>b")>) are followed.
std::size_t HarnessExpressionEnd(absl::string_view text, std::size_t start);

// True if the whole of `value` is one Harness expression such as
// <+secrets.getValue("X")> or <+pipeline.variables.X>; "<+x>Hunter2>" is not.
bool IsHarnessExpression(absl::string_view value);

// True if `text` contains a well-formed Harness expression anywhere.
bool ContainsHarnessExpression(absl::string_view text);

// `text` in lower case, except its Harness expressions, kept as written.
std::string LowerOutsideExpressions(absl::string_view text);

// `text` with every character of every Harness expression replaced by
// `mask`, so that a parser can split the rest by its own grammar without
// cutting an expression apart; offsets are unchanged.
std::string MaskExpressions(absl::string_view text, char mask);

// As MaskExpressions, without allocating when `text` cannot hold an
// expression (no "<+"): returns `text` itself, else the masked copy kept in
// `*storage`.
absl::string_view MaskExpressionsView(absl::string_view text, char mask, std::string* storage);

}  // namespace buildgate

#endif  // BUILDGATE_GRAMMAR_EXPRESSION_H_
