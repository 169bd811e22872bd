// common/input_error.h: the located error and its payload, the nesting
// helpers (messages exactly as the hand-written ones were), safe values, and
// the payload's bytes as a buildgate.v1.InputError.
#include "common/input_error.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "buildgate/v1/common.pb.h"
#include "common/status.h"

namespace buildgate {
namespace {

InputLocation Loc(std::string file, int line, int column, std::string field, std::string value = "") {
  InputLocation l;
  l.file = std::move(file);
  l.line = line;
  l.column = column;
  l.field = std::move(field);
  l.value = std::move(value);
  return l;
}

TEST(InputErrorTest, LocatedErrorWritesTheMessageAndThePayload) {
  absl::Status s = LocatedError("badpipe.yaml", 3, 46, "", "illegal flow end");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "badpipe.yaml:3:46: illegal flow end");
  EXPECT_EQ(GetInputLocation(s), Loc("badpipe.yaml", 3, 46, ""));

  s = LocatedError("a.yaml", 2, 16, "policy.root", "unknown value");
  EXPECT_EQ(s.message(), "a.yaml:2:16: policy.root: unknown value");
  EXPECT_EQ(GetInputLocation(s), Loc("a.yaml", 2, 16, "policy.root"));

  // No position: the file alone, as "a.yaml: empty document" always read.
  s = LocatedError("a.yaml", kNoPosition, 0, "", "empty document");
  EXPECT_EQ(s.message(), "a.yaml: empty document");
  EXPECT_EQ(GetInputLocation(s), Loc("a.yaml", 0, 0, ""));

  // A mark yaml-cpp has no position for (-1, plus one): printed as the
  // hand-written messages printed it, carried as unknown.
  s = LocatedError("p.yaml", 0, 0, "pipeline", "what");
  EXPECT_EQ(s.message(), "p.yaml:0:0: pipeline: what");
  EXPECT_EQ(GetInputLocation(s), Loc("p.yaml", 0, 0, "pipeline"));

  s = LocatedError("x", 1, 1, "", "gone", absl::StatusCode::kNotFound);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
}

TEST(InputErrorTest, InvalidFieldCarriesTheField) {
  const absl::Status s = InvalidField("step.repo", "required");
  EXPECT_EQ(s.message(), "step.repo: required");
  EXPECT_EQ(GetInputLocation(s), Loc("", 0, 0, "step.repo"));
}

TEST(InputErrorTest, NoPayloadReadsEmpty) {
  EXPECT_TRUE(GetInputLocation(absl::OkStatus()).empty());
  EXPECT_TRUE(GetInputLocation(absl::InvalidArgumentError("step.repo: required")).empty());
  absl::Status garbage = absl::InvalidArgumentError("x");
  garbage.SetPayload(kInputErrorTypeUrl, absl::Cord("\xff\xff"));
  EXPECT_TRUE(GetInputLocation(garbage).empty());
  EXPECT_TRUE(SetInputLocation(absl::OkStatus(), Loc("f", 1, 1, "x")).ok());
}

// The nesting helpers write the messages the code wrote by hand before.
TEST(InputErrorTest, NestingKeepsTheMessageTextAsToday) {
  const absl::Status inner = InvalidField("policy.root", "required");

  absl::Status s = WithFieldPrefix(inner, "policy_set.");
  EXPECT_EQ(s.message(), std::string("policy_set.") + std::string(inner.message()));
  EXPECT_EQ(s.message(), "policy_set.policy.root: required");
  EXPECT_EQ(GetInputLocation(s).field, "policy_set.policy.root");

  s = WithFile(inner, "acme.yaml");
  EXPECT_EQ(s.message(), "acme.yaml: policy.root: required");
  EXPECT_EQ(GetInputLocation(s), Loc("acme.yaml", 0, 0, "policy.root"));

  s = WithFieldPrefix(WithFieldPrefix(inner, "inline_policy."), "policy.");
  EXPECT_EQ(s.message(), "policy.inline_policy.policy.root: required");
  EXPECT_EQ(GetInputLocation(s).field, "policy.inline_policy.policy.root");

  // A located error under a request field: file, line and column stay.
  s = WithField(LocatedError("p.yaml", 3, 46, "", "illegal flow end"), "document");
  EXPECT_EQ(s.message(), "document: p.yaml:3:46: illegal flow end");
  EXPECT_EQ(GetInputLocation(s), Loc("p.yaml", 3, 46, "document"));

  // The batch rename of service/buildgate_service.cc.
  s = ReplaceFieldPrefix(InvalidField("step.kind", "required"), "step.", "steps[3].");
  EXPECT_EQ(s.message(), "steps[3].kind: required");
  EXPECT_EQ(GetInputLocation(s).field, "steps[3].kind");
  s = ReplaceFieldPrefix(InvalidField("policy", "required"), "policy", "from");
  EXPECT_EQ(s.message(), "from: required");
  EXPECT_EQ(GetInputLocation(s).field, "from");
  // Not starting with it: unchanged.
  s = ReplaceFieldPrefix(InvalidField("org_id", "required"), "step.", "steps[0].");
  EXPECT_EQ(s.message(), "org_id: required");
  EXPECT_EQ(GetInputLocation(s).field, "org_id");

  // With no field known, the prefix names it.
  s = WithFieldPrefix(absl::InvalidArgumentError("bad"), "policy_set.");
  EXPECT_EQ(s.message(), "policy_set.bad");
  EXPECT_EQ(GetInputLocation(s).field, "policy_set");

  // A file named once: the innermost one is kept.
  s = WithFile(LocatedError("inner.yaml", 2, 3, "", "what"), "outer.yaml");
  EXPECT_EQ(s.message(), "outer.yaml: inner.yaml:2:3: what");
  EXPECT_EQ(GetInputLocation(s).file, "inner.yaml");

  // Code and other payloads are kept; OK stays OK.
  absl::Status other = absl::NotFoundError("policy.org_id: none");
  other.SetPayload("type.googleapis.com/x.Y", absl::Cord("z"));
  s = ReplaceFieldPrefix(other, "policy", "from");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "from.org_id: none");
  EXPECT_TRUE(s.GetPayload("type.googleapis.com/x.Y").has_value());
  EXPECT_TRUE(WithFieldPrefix(absl::OkStatus(), "x.").ok());
  EXPECT_TRUE(WithField(absl::OkStatus(), "x").ok());
  EXPECT_TRUE(WithFile(absl::OkStatus(), "x").ok());
}

TEST(InputErrorTest, ValuesAreQuotedBoundedAndNeverCredentials) {
  absl::Status s = WithValue(InvalidField("step.repo", "bad"), "acme/\x01" "app\n");
  EXPECT_EQ(GetInputLocation(s).value, "\"acme/\\001app\\n\"");
  EXPECT_EQ(s.message(), "step.repo: bad");  // The message is not touched.

  const std::string long_value(300, 'x');
  s = WithValue(InvalidField("step.repo", "bad"), long_value);
  EXPECT_EQ(GetInputLocation(s).value, "\"" + std::string(64, 'x') + "\"…(300 bytes)");

  for (const char* field : {"step.credentials.password", "settings.PLUGIN_SECRET_KEY",
                            "step.credentials.token", "settings.aws_access_key_id",
                            "connector.auth.username", "settings.api_key"}) {
    EXPECT_TRUE(IsCredentialField(field)) << field;
    s = WithValue(InvalidField(field, "bad"), "hunter2");
    EXPECT_TRUE(GetInputLocation(s).value.empty()) << field;
    EXPECT_EQ(EncodeInputLocation(GetInputLocation(s)).find("hunter2"), std::string::npos);
  }
  EXPECT_FALSE(IsCredentialField("step.repo"));
  // Renaming a field to a credential-like one drops the value.
  s = WithField(WithValue(InvalidField("x", "bad"), "hunter2"), "password");
  EXPECT_TRUE(GetInputLocation(s).value.empty());
}

// The payload is the wire format of buildgate.v1.InputError, both ways.
TEST(InputErrorTest, PayloadIsAnInputErrorMessage) {
  const InputLocation l = Loc("p.yaml", 300, 7, "pipeline.stages[0]", "\"v\"");
  v1::InputError parsed;
  ASSERT_TRUE(parsed.ParseFromString(EncodeInputLocation(l)));
  EXPECT_EQ(parsed.file(), "p.yaml");
  EXPECT_EQ(parsed.line(), 300);
  EXPECT_EQ(parsed.column(), 7);
  EXPECT_EQ(parsed.field(), "pipeline.stages[0]");
  EXPECT_EQ(parsed.value(), "\"v\"");
  EXPECT_TRUE(parsed.message().empty());

  v1::InputError written;
  written.set_message("ignored");
  written.set_file("a.yaml");
  written.set_line(2);
  written.set_column(16);
  written.set_field("policy.root");
  const auto decoded = DecodeInputLocation(written.SerializeAsString());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, Loc("a.yaml", 2, 16, "policy.root"));

  absl::Status s = LocatedError("a.yaml", 2, 16, "policy.root", "unknown value");
  const auto payload = s.GetPayload(kInputErrorTypeUrl);
  ASSERT_TRUE(payload.has_value());
  ASSERT_TRUE(parsed.ParseFromString(std::string(*payload)));
  EXPECT_EQ(parsed.field(), "policy.root");

  EXPECT_FALSE(DecodeInputLocation("\x12\x05" "ab").has_value());  // Short string.
  EXPECT_TRUE(DecodeInputLocation("").has_value());
}

}  // namespace
}  // namespace buildgate
