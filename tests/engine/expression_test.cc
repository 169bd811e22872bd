#include "engine/expression.h"

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

}  // namespace
}  // namespace buildgate
