#include "service/decision_log.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/json.h"
#include "tests/testing/subprocess.h"

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
  d.add_reasons()->set_code(v1::CHOSEN_AS_REQUESTED);
  d.add_reasons()->set_code(v1::RUNS_PRIVILEGED);
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
                           "\"latency_us\":42", "\"time\":\"1970-01-01T00:00:00.000000Z\"",
                           "\"reasons\":[\"CHOSEN_AS_REQUESTED\",\"RUNS_PRIVILEGED\"]"}) {
    EXPECT_TRUE(absl::StrContains(line, want)) << want << " in " << line;
  }
  EXPECT_FALSE(absl::StrContains(line, "hunter2"));
  EXPECT_TRUE(testing::ParseJsonObject(line).ok()) << testing::ParseJsonObject(line) << line;
}

// Proves AppendJsonString escapes exactly the characters JSON requires ('"',
// '\\' and controls) wherever they stand in a value, and copies every other
// byte (UTF-8 included) as it is: each of the 256 byte values alone, at the
// start, middle and end of a 45-character id, and next to each other.
TEST(AppendJsonString, EscapesOnlyWhatJsonRequires) {
  auto expected = [](const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20) {
        out += absl::StrCat("\\u00", absl::Hex(c, absl::kZeroPad2));
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  };
  const std::string id = "build_and_push_settlement_reconciler_ünïcode";
  int checked = 0;
  for (int b = 0; b < 256; ++b) {
    const std::string c(1, static_cast<char>(b));
    for (const std::string& text :
         {c, c + id, id + c, id.substr(0, 20) + c + id.substr(20), c + c + "\"\\" + c}) {
      std::string got = "x";  // Appends: what was there stays.
      AppendJsonString(&got, text);
      ASSERT_EQ(got, "x" + expected(text)) << "byte " << b;
      if (b < 0x80) {
        ASSERT_TRUE(testing::ParseJsonObject("{\"k\":" + got.substr(1) + "}").ok()) << got;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 256 * 5);
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

DecisionLogEntry SampleEntry(int i) {
  DecisionLogEntry e;
  e.decision_id = absl::StrCat("3f9a1c07e2b4-", absl::Hex(i, absl::kZeroPad8));
  e.time = absl::FromUnixMicros(1796000000000000 + i);
  e.caller = "pipeline-governance.platform-security.svc (ipv4:10.12.0.7:51234)";
  e.rpc = "Decide";
  e.status = i % 7 == 0 ? absl::InvalidArgumentError("step.registry: \"ünïcode\" does not fit")
                        : absl::OkStatus();
  e.latency_us = i;
  return e;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          absl::StrCat("bg_log_", ::getpid(), "_", name))
      .string();
}

// Proves a torn last line (a crash mid-write) is moved to PATH.torn and cut
// off when the log is opened, so new lines never extend it and every line of
// the file is a whole JSON object.
TEST(DecisionLog, TornLastLineIsRepairedAtOpen) {
  const std::string path = TempPath("torn");
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".torn");
  const std::string whole = DecisionLog::Format(SampleEntry(1)) + "\n" +
                            DecisionLog::Format(SampleEntry(2)) + "\n";
  const std::string torn = DecisionLog::Format(SampleEntry(3)).substr(0, 57);
  std::ofstream(path) << whole << torn;
  {
    auto log = DecisionLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->torn_bytes_repaired(), torn.size());
    (*log)->Record(SampleEntry(4));
    ASSERT_TRUE((*log)->Flush());
  }
  const std::string text = testing::ReadAll(path);
  int lines = 0;
  EXPECT_TRUE(testing::EveryLineIsJsonObject(text, &lines).ok()) << text;
  EXPECT_EQ(lines, 3);
  EXPECT_TRUE(absl::StartsWith(text, whole));
  EXPECT_EQ(testing::ReadAll(path + ".torn"), torn + "\n");
  // A file that ends whole is left alone.
  {
    auto log = DecisionLog::Open(path);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->torn_bytes_repaired(), 0u);
  }
  EXPECT_EQ(testing::ReadAll(path), text);
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".torn");
}

// Proves lines recorded from many threads at once reach the file whole: every
// line parses as JSON and none is lost.
TEST(DecisionLog, ConcurrentLinesAreWhole) {
  const std::string path = TempPath("concurrent");
  std::filesystem::remove(path);
  constexpr int kThreads = 4, kPerThread = 3000;
  {
    auto log = DecisionLog::Open(path);
    ASSERT_TRUE(log.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) (*log)->Record(SampleEntry(t * kPerThread + i));
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE((*log)->Flush());
    EXPECT_EQ((*log)->dropped_lines(), 0u);
  }
  int lines = 0;
  const absl::Status s = testing::EveryLineIsJsonObject(testing::ReadAll(path), &lines);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(lines, kThreads * kPerThread);
  std::filesystem::remove(path);
}

// Proves a stalled sink (a pipe nobody reads) neither grows memory past the
// queue bound nor blocks shutdown: lines beyond the bound are dropped and
// counted, and Flush/the destructor give up after flush_timeout.
TEST(DecisionLog, StalledSinkIsBoundedAndDoesNotBlockShutdown) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  DecisionLogOptions options;
  options.before_reply = false;  // Batched: Record alone hands lines over.
  options.max_queued_bytes = 256 * 1024;
  options.flush_timeout = absl::Milliseconds(200);
  constexpr int kLines = 50000;  // ~15 MB of lines; the pipe holds 64 KiB.
  const auto start = absl::Now();
  {
    auto log = DecisionLog::Open(absl::StrCat("/dev/fd/", fds[1]), options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < kLines; ++i) (*log)->Record(SampleEntry(i));
    EXPECT_FALSE((*log)->Flush()) << "a stalled sink cannot have drained";
    // What is neither written (pipe) nor queued (bound) was dropped.
    const uint64_t dropped = (*log)->dropped_lines();
    const uint64_t line_bytes = DecisionLog::Format(SampleEntry(1)).size() + 1;
    const uint64_t held = (options.max_queued_bytes + 2 * DecisionLog::kBatchBytes + 65536) / line_bytes;
    EXPECT_GE(dropped, kLines - held);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(20)) << "shutdown waited on the stalled sink";
  ::close(fds[0]);  // The writer thread, blocked in write(), now fails and ends.
  ::close(fds[1]);
}

// Proves before-reply mode: the callback that answers a call runs only once
// the call's lines are in the file (a SIGKILL after the answer loses
// nothing), for single calls and for many threads at once (group commit).
TEST(DecisionLog, BeforeReplyAnswersOnlyOnceWritten) {
  const std::string path = TempPath("before_reply");
  std::filesystem::remove(path);
  {
    auto log = DecisionLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status();
    constexpr int kThreads = 4;
    constexpr int kCalls = 300;
    std::atomic<int> missing{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          const DecisionLogEntry entry = SampleEntry(t * kCalls + i);
          (*log)->Record(entry);
          std::promise<void> answered;
          (*log)->AfterWritten([&](bool written) {
            if (!written) refused.fetch_add(1);
            // The line is in the file by now: read it back.
            if (!absl::StrContains(testing::ReadAll(path), entry.decision_id)) missing.fetch_add(1);
            answered.set_value();
          });
          answered.get_future().wait();
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(refused.load(), 0);
    EXPECT_EQ(missing.load(), 0) << "answered before its line was written";
  }
  int lines = 0;
  const absl::Status s = testing::EveryLineIsJsonObject(testing::ReadAll(path), &lines);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(lines, 4 * 300);
  std::filesystem::remove(path);
}

// Proves a call that recorded nothing, and every call when there is no log,
// is answered at once on the calling thread.
TEST(DecisionLog, BeforeReplyWithNothingToWriteAnswersAtOnce) {
  for (const std::string& path : {std::string(), TempPath("nothing")}) {
    auto log = DecisionLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status();
    if (path.empty()) (*log)->Record(SampleEntry(1));
    const std::thread::id caller = std::this_thread::get_id();
    bool answered = false;
    (*log)->AfterWritten([&](bool written) {
      EXPECT_TRUE(written);
      EXPECT_EQ(std::this_thread::get_id(), caller);
      answered = true;
    });
    EXPECT_TRUE(answered) << "log '" << path << "'";
    if (!path.empty()) std::filesystem::remove(path);
  }
}

// Proves a stalled sink in before-reply mode: calls beyond the queue bound
// are refused (written=false) at once instead of waiting or growing memory,
// and every call waiting on the stalled write is answered once the sink
// moves again - no call is left unanswered, even after the log is closed.
TEST(DecisionLog, BeforeReplyOnStalledSinkRefusesAndAnswersEveryCall) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  DecisionLogOptions options;
  options.max_queued_bytes = 64 * 1024;
  options.flush_timeout = absl::Milliseconds(100);
  constexpr int kCalls = 2000;  // ~600 KB of lines; the pipe holds 64 KiB.
  std::atomic<int> told{0};
  std::atomic<int> refused{0};
  {
    auto log = DecisionLog::Open(absl::StrCat("/dev/fd/", fds[1]), options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < kCalls; ++i) {
      (*log)->Record(SampleEntry(i));
      (*log)->AfterWritten([&](bool written) {
        if (!written) refused.fetch_add(1);
        told.fetch_add(1);
      });
    }
    EXPECT_GT(refused.load(), kCalls / 2) << "the queue bound must refuse most calls";
    EXPECT_LT(told.load(), kCalls) << "calls waiting on the stalled sink cannot have been answered";
  }
  // The sink moves again: the writer, left behind by the closed log,
  // finishes its queue and answers the rest.
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  char buf[65536];
  for (int i = 0; i < 500 && told.load() < kCalls; ++i) {
    while (::read(fds[0], buf, sizeof(buf)) > 0) {
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(told.load(), kCalls) << "a call waiting on the log was never answered (refused "
                                 << refused.load() << ")";
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace buildgate
