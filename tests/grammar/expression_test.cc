#include "grammar/expression.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

// Proves Harness expressions are recognised whole and inside text.
TEST(HarnessExpression, Recognised) {
  EXPECT_TRUE(IsHarnessExpression("<+secrets.getValue(\"X\")>"));
  EXPECT_TRUE(IsHarnessExpression("<+pipeline.variables.DOCKER_HUB_USER>"));
  EXPECT_FALSE(IsHarnessExpression("hunter2"));
  EXPECT_FALSE(IsHarnessExpression("x<+a>"));
  EXPECT_TRUE(ContainsHarnessExpression("acme/<+pipeline.variables.APP>"));
}

// Proves a value is an expression only if the whole value parses as one:
// nesting, parentheses and quoted strings are followed, and look-alikes
// (a '>' after the expression ends, an unterminated one) are plain text.
TEST(HarnessExpression, WholeValueParses) {
  EXPECT_TRUE(IsHarnessExpression("<+pipeline.variables.<+stage.name>_tag>"));
  EXPECT_TRUE(IsHarnessExpression("<+secrets.getValue(\"docker>hub\")>"));
  EXPECT_TRUE(IsHarnessExpression("<+secrets.getValue('a\\'>b')>"));
  EXPECT_TRUE(IsHarnessExpression("<+<+pipeline.variables.x>.concat(\">\")>"));
  EXPECT_FALSE(IsHarnessExpression("<+x>Hunter2>"));
  EXPECT_FALSE(IsHarnessExpression("<+secrets.getValue(x)"));
  EXPECT_FALSE(IsHarnessExpression("<+>"));
  EXPECT_FALSE(IsHarnessExpression("<+a>>"));
  EXPECT_EQ(HarnessExpressionEnd("ab<+c.d>ef", 2), 8u);
  EXPECT_EQ(HarnessExpressionEnd("ab<+c.d", 2), std::string::npos);
  EXPECT_EQ(HarnessExpressionEnd("ab<+c>", 0), std::string::npos);  // No expression opens there.
  EXPECT_FALSE(ContainsHarnessExpression("acme/<+unterminated"));
  EXPECT_TRUE(ContainsHarnessExpression("<+ <+a>"));  // The inner one is whole.
}

// Proves masking keeps offsets and leaves the text outside expressions as it is.
TEST(HarnessExpression, MaskKeepsOffsets) {
  const std::string text = "plugins/kaniko:<+pipeline.variables.V>@x";
  const std::string masked = MaskExpressions(text, '#');
  ASSERT_EQ(masked.size(), text.size());
  EXPECT_EQ(masked, "plugins/kaniko:" + std::string(23, '#') + "@x");
  EXPECT_EQ(MaskExpressions("no expression <+unterminated", '#'), "no expression <+unterminated");
}

// The rules of the scans by their words, one position at a time: an
// expression can open at any index; each one found is kept (lower-casing)
// or masked whole, and the scan goes on after it.
std::string ReferenceLower(const std::string& text) {
  std::string out = text;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t end = HarnessExpressionEnd(text, i);
    if (end != std::string::npos) {
      i = end - 1;
      continue;
    }
    out[i] = absl::ascii_tolower(static_cast<unsigned char>(out[i]));
  }
  return out;
}

std::string ReferenceMask(const std::string& text, char mask) {
  std::string out = text;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t end = HarnessExpressionEnd(text, i);
    if (end == std::string::npos) continue;
    for (std::size_t j = i; j < end; ++j) out[j] = mask;
    i = end - 1;
  }
  return out;
}

// Proves the scans that jump from one "<+" to the next (FindExpressionOpen)
// agree with the position-by-position rules on random text rich in
// expression syntax: nested and unterminated expressions, quotes holding
// '>', a '<' without '+', upper case inside and outside, at every length.
TEST(HarnessExpression, ScansAgreeWithTheRulesOnRandomText) {
  const std::vector<std::string> pieces = {
      "<+", ">", "<", "+", "ACME", "io", ".", "/", "\"", "'", "(", ")", "\\",
      "<+pipeline.variables.Tag>", "<+secrets.getValue(\"a>B\")>", "X", "-"};
  std::mt19937 rng(20261202);
  int with_expression = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string text;
    const int parts = std::uniform_int_distribution<int>(0, 9)(rng);
    for (int k = 0; k < parts; ++k) {
      text += pieces[std::uniform_int_distribution<std::size_t>(0, pieces.size() - 1)(rng)];
    }
    ASSERT_EQ(LowerOutsideExpressions(text), ReferenceLower(text)) << text;
    ASSERT_EQ(MaskExpressions(text, '#'), ReferenceMask(text, '#')) << text;
    std::string storage;
    ASSERT_EQ(MaskExpressionsView(text, '#', &storage), ReferenceMask(text, '#')) << text;
    const std::size_t open = text.find("<+");
    ASSERT_EQ(FindExpressionOpen(text), open) << text;
    if (open != std::string::npos) {
      ASSERT_EQ(FindExpressionOpen(text, open + 1), text.find("<+", open + 1)) << text;
    }
    with_expression += ContainsHarnessExpression(text);
  }
  // Both kinds of text occur.
  EXPECT_GT(with_expression, 2000);
  EXPECT_LT(with_expression, 18000);
}

}  // namespace
}  // namespace buildgate
