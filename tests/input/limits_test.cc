#include "input/limits.h"

#include "absl/strings/match.h"
#include "buildgate/v1/policy.pb.h"
#include "buildgate/v1/step.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

// Proves each limit names the field path (with list indexes) and the limit.
TEST(CheckMessageLimits, NamesFieldAndLimit) {
  InputLimits limits;
  limits.max_string_bytes = 16;
  limits.max_list_items = 3;
  v1::BuildStep step;
  for (int i = 0; i < 3; ++i) step.add_tags("v1");
  EXPECT_TRUE(CheckMessageLimits(step, "step", limits).ok());

  step.add_tags("v2");
  EXPECT_EQ(CheckMessageLimits(step, "step", limits).message(),
            "step.tags: 4 items are too many (limit max_list_items = 3)");
  step.mutable_tags()->RemoveLast();
  step.set_tags(2, std::string(17, 't'));
  EXPECT_EQ(CheckMessageLimits(step, "step", limits).message(),
            "step.tags[2]: string of 17 bytes is too long (limit max_string_bytes = 16)");

  v1::PolicySet set;
  set.set_org_id("acme");
  set.add_overrides()->mutable_policy()->set_revision("r");
  limits.max_depth = 2;
  EXPECT_EQ(CheckMessageLimits(set, "", limits).message(),
            "overrides[0].policy: nested too deeply (limit max_depth = 2)");
}

// Proves a bytes field (a document sent inline) is bounded by the document
// limit and a string field by the string limit, each error naming its own
// (protobuf's wrapper types: one field each, `bytes value` and `string value`).
TEST(CheckMessageLimits, BytesFieldsHaveTheDocumentLimit) {
  InputLimits limits;
  limits.max_string_bytes = 16;
  limits.max_document_bytes = 64;
  google::protobuf::BytesValue document;
  document.set_value(std::string(64, 'd'));
  EXPECT_TRUE(CheckMessageLimits(document, "document", limits).ok());
  document.set_value(std::string(65, 'd'));
  EXPECT_EQ(CheckMessageLimits(document, "document", limits).message(),
            "document.value: document of 65 bytes is too large (limit max_document_bytes = 64)");
  google::protobuf::StringValue name;
  name.set_value(std::string(17, 'f'));
  EXPECT_EQ(CheckMessageLimits(name, "name", limits).message(),
            "name.value: string of 17 bytes is too long (limit max_string_bytes = 16)");
  // The size shortcut never skips a check the smaller limit would fail.
  EXPECT_FALSE(SizeProvesLimits(17, 1, limits));
  limits.max_document_bytes = 8;
  EXPECT_FALSE(SizeProvesLimits(10, 1, limits));
}

// Proves the size shortcut holds only when no limit can be broken: the
// types nest a bounded number of levels, well within the default.
TEST(SizeProvesLimits, OnlySmallRequestsOfBoundedTypes) {
  const int depth = SchemaDepth(*v1::PolicySet::descriptor());
  EXPECT_GT(depth, 2);
  EXPECT_LE(depth, InputLimits().max_depth);
  EXPECT_TRUE(SizeProvesLimits(500, depth, InputLimits()));
  EXPECT_FALSE(SizeProvesLimits(1001, depth, InputLimits()));  // More bytes than list items allowed.
  InputLimits shallow;
  shallow.max_depth = depth - 1;
  EXPECT_FALSE(SizeProvesLimits(10, depth, shallow));
}

// Proves UTF-8 validation rejects what RFC 3629 forbids and accepts the rest.
TEST(FindInvalidUtf8, Rfc3629) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii"), std::string::npos);
  EXPECT_EQ(FindInvalidUtf8("Zahlungsdienst – ünïcödé 🚀"), std::string::npos);
  EXPECT_EQ(FindInvalidUtf8("ab\xff"), 2u);
  EXPECT_EQ(FindInvalidUtf8("a\xc0\xaf"), 1u);          // Overlong '/'.
  EXPECT_EQ(FindInvalidUtf8("\xed\xa0\x80"), 0u);       // Surrogate.
  EXPECT_EQ(FindInvalidUtf8("\xf4\x90\x80\x80"), 0u);   // Past U+10FFFF.
  EXPECT_EQ(FindInvalidUtf8("x\xe2\x82"), 1u);          // Cut short.
}

// Proves errors quote a bounded, escaped prefix of the input.
TEST(QuoteInput, BoundedAndEscaped) {
  EXPECT_EQ(QuoteInput("acme"), "\"acme\"");
  EXPECT_EQ(QuoteInput("a\nb\x01"), "\"a\\nb\\x01\"");
  const std::string quoted = QuoteInput(std::string(100000, 'x'));
  EXPECT_LT(quoted.size(), kQuoteInputMax + 32);
  EXPECT_TRUE(absl::EndsWith(quoted, "…(100000 bytes)")) << quoted;
  EXPECT_EQ(FindInvalidUtf8(QuoteInput("\xff\xfe")), std::string::npos);
}

}  // namespace
}  // namespace buildgate
