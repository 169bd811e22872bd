#include "service/decision_log.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

// Proves the log line is JSON with ids, verdict, builder, policy and latency.
TEST(DecisionLog, FormatsJson) {
  v1::BuildStep step;
  step.set_org_id("acme");
  step.set_project_id("web");
  step.set_step_id("build \"x\"");
  step.mutable_credentials()->set_password("hunter2");
  v1::Decision d;
  d.set_verdict(v1::VERDICT_ALLOW);
  d.set_builder(v1::BUILDER_BUILDAH);
  d.set_policy_revision("r1");
  DecisionLogEntry e;
  e.decision_id = "id-1";
  e.time = absl::UnixEpoch();
  e.caller = "tester";
  e.rpc = "Decide";
  e.step = &step;
  e.decision = &d;
  e.latency_us = 42;
  const std::string line = DecisionLog::Format(e);
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  for (const char* want : {"\"decision_id\":\"id-1\"", "\"org\":\"acme\"", "\"project\":\"web\"",
                           "\"step\":\"build \\\"x\\\"\"", "\"verdict\":\"VERDICT_ALLOW\"",
                           "\"builder\":\"BUILDER_BUILDAH\"", "\"policy_revision\":\"r1\"",
                           "\"latency_us\":42", "\"time\":\"1970-01-01T00:00:00.000000Z\""}) {
    EXPECT_TRUE(absl::StrContains(line, want)) << want << " in " << line;
  }
  EXPECT_FALSE(absl::StrContains(line, "hunter2"));
}

// Proves credential-looking values in free text are redacted.
TEST(RedactSecrets, Redacts) {
  EXPECT_EQ(RedactSecrets("login failed: password=hunter2 user=bob"),
            "login failed: password=[REDACTED] user=bob");
  EXPECT_EQ(RedactSecrets("Authorization: Bearer abc.def"), "Authorization: Bearer [REDACTED]");
  EXPECT_EQ(RedactSecrets("token: \"s3cr3t\""), "token: [REDACTED]");
  EXPECT_EQ(RedactSecrets("nothing to see"), "nothing to see");
}

// Proves entries reach the file after Flush.
TEST(DecisionLog, WritesFile) {
  const auto path = std::filesystem::temp_directory_path() / ("bg_log_" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  {
    auto log = DecisionLog::Open(path.string());
    ASSERT_TRUE(log.ok());
    DecisionLogEntry e;
    e.decision_id = "flushed-1";
    e.time = absl::UnixEpoch();
    e.status = absl::InvalidArgumentError("step.kind: required");
    (*log)->Record(e);
    (*log)->Flush();
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_TRUE(absl::StrContains(text.str(), "flushed-1")) << text.str();
    EXPECT_TRUE(absl::StrContains(text.str(), "\"status\":\"INVALID_ARGUMENT\""));
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace buildgate
