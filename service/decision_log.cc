#include "service/decision_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <regex>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/file.h"
#include "engine/enum_names.h"

namespace buildgate {

void AppendJsonString(std::string* out, absl::string_view text) {
  // Runs of characters that need no escape are appended whole.
  auto plain = [](unsigned char c) { return c >= 0x20 && c != '"' && c != '\\'; };
  out->push_back('"');
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const char* run = p;
    // Eight bytes at a time while none needs an escape, then byte by byte.
    for (uint64_t x; end - p >= 8 && !bytes::AnyByteBelow(x = bytes::Load8(p), 0x20) &&
                     !bytes::AnyByteIs(x, '"') && !bytes::AnyByteIs(x, '\\');) {
      p += 8;
    }
    while (p < end && plain(static_cast<unsigned char>(*p))) ++p;
    out->append(run, static_cast<std::size_t>(p - run));
    if (p == end) break;
    const unsigned char c = static_cast<unsigned char>(*p++);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default: absl::StrAppend(out, "\\u00", absl::Hex(c, absl::kZeroPad2));
    }
  }
  out->push_back('"');
}

std::string RedactSecrets(absl::string_view text) {
  static const std::regex* pattern = new std::regex(
      R"(((password|passwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|json[_-]?key|authorization)\s*[:=]\s*(bearer\s+)?)("[^"]*"|'[^']*'|[^\s,;}]+))",
      std::regex::icase);
  return std::regex_replace(std::string(text), *pattern, "$1[REDACTED]");
}

namespace {

// "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" with the per-second prefix formatted once per
// second per thread (absl::FormatTime costs more than the rest of a line).
void AppendTime(std::string* out, absl::Time t) {
  struct Cache {
    int64_t second = std::numeric_limits<int64_t>::min();
    std::string prefix;
  };
  thread_local Cache cache;
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t second = micros / 1000000;
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --second;
  }
  if (second != cache.second) {
    cache.second = second;
    cache.prefix = absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
  }
  out->append(cache.prefix);
  char buf[8] = {'.', '0', '0', '0', '0', '0', '0', 'Z'};
  for (int i = 6; i >= 1; --i, frac /= 10) buf[i] = static_cast<char>('0' + frac % 10);
  out->append(buf, sizeof(buf));
}

}  // namespace

void DecisionLog::AppendLine(const DecisionLogEntry& e, std::string* out) {
  std::string& line = *out;
  // Keys are this function's own names ([a-z_]), written without a scan.
  auto field = [&](absl::string_view key, absl::string_view value) {
    line.append(",\"");
    line.append(key.data(), key.size());
    line.append("\":");
    AppendJsonString(&line, value);
  };
  line.append("{\"time\":\"");
  AppendTime(&line, e.time);
  line.push_back('"');
  field("decision_id", e.decision_id);
  field("rpc", e.rpc);
  field("caller", e.caller);
  if (e.step != nullptr) {
    field("org", e.step->org_id());
    field("project", e.step->project_id());
    field("pipeline", e.step->pipeline_id());
    field("stage", e.step->stage_id());
    field("step", e.step->step_id());
  }
  field("status", absl::StatusCodeToString(e.status.code()));
  if (!e.status.ok()) field("error", RedactSecrets(e.status.message()));
  if (e.decision != nullptr && e.status.ok()) {
    field("verdict", EnumName(e.decision->verdict()));
    field("builder", EnumName(e.decision->builder()));
    field("policy_scope", e.decision->policy_scope());
    field("policy_revision", e.decision->policy_revision());
    field("policy_fingerprint", e.decision->policy_fingerprint());
    // The reason codes (stable names, never the step's values), in order.
    line.append(",\"reasons\":[");
    for (int i = 0; i < e.decision->reasons_size(); ++i) {
      if (i > 0) line.push_back(',');
      AppendJsonString(&line, EnumName(e.decision->reasons(i).code()));
    }
    line.push_back(']');
  }
  absl::StrAppend(&line, ",\"latency_us\":", e.latency_us, "}");
}

std::string DecisionLog::Format(const DecisionLogEntry& entry) {
  std::string line;
  AppendLine(entry, &line);
  return line;
}

// The writer thread's side: a bounded queue of whole-line chunks and the
// sink. Shared by the DecisionLog and its thread, so a thread stuck in
// write() on a stalled sink can be left behind at shutdown safely.
struct DecisionLog::Writer {
  explicit Writer(int fd, std::size_t max_queued) : fd(fd), max_queued(max_queued) {}
  ~Writer() {
    if (fd > 2) ::close(fd);
  }

  // Queues `chunk` (whole lines) or, past the bound, drops and counts it.
  // `written`, if set, runs once the chunk and everything queued before it
  // are written (true) or once the chunk is dropped or its write failed
  // (false); from the writer thread, or from here when dropped.
  void Push(std::string chunk, DecisionLog::WrittenCallback written = nullptr) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (queued + chunk.size() <= max_queued) {
        queued += chunk.size();
        queue.push_back(Chunk{std::move(chunk), std::move(written)});
        cv.notify_all();
        return;
      }
      dropped.fetch_add(std::count(chunk.begin(), chunk.end(), '\n'), std::memory_order_relaxed);
    }
    if (written) written(false);
  }

  // Writes all of `text`; false on an error that will not pass.
  bool WriteAll(absl::string_view text) {
    return buildgate::WriteAll(fd, text) == 0;
  }

  void Run() {
    // A closed pipe must fail the write (EPIPE), not kill the process.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [this] { return stop || !queue.empty(); });
      if (queue.empty()) return;  // Stopped and drained.
      // Everything queued goes out in one write (group commit): callers
      // waiting for their lines share the system call.
      std::deque<Chunk> batch;
      batch.swap(queue);
      writing = true;
      lock.unlock();
      std::string text;
      if (batch.size() == 1) {
        text.swap(batch.front().lines);
      } else {
        for (Chunk& c : batch) text.append(c.lines);
      }
      const bool ok = WriteAll(text);
      for (Chunk& c : batch) {
        if (c.written) c.written(ok);
      }
      lock.lock();
      writing = false;
      queued -= std::min(queued, text.size());
      if (!ok) dropped.fetch_add(std::count(text.begin(), text.end(), '\n'), std::memory_order_relaxed);
      cv.notify_all();
    }
  }

  // Waits until the queue is empty and nothing is being written.
  bool WaitDrained(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                       [this] { return queue.empty() && !writing; });
  }

  const int fd;
  const std::size_t max_queued;
  std::mutex mu;
  std::condition_variable cv;
  struct Chunk {
    std::string lines;
    DecisionLog::WrittenCallback written;
  };
  std::deque<Chunk> queue;
  std::size_t queued = 0;
  bool writing = false;
  bool stop = false;
  std::atomic<uint64_t> dropped{0};
};

namespace {

// If the file's last line has no newline (a crash tore it), moves those
// bytes to PATH.torn and cuts the file back to its last whole line. Returns
// the number of bytes moved.
absl::StatusOr<std::size_t> RepairTornTail(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return 0;
  const off_t size = st.st_size;
  char last;
  if (::pread(fd, &last, 1, size - 1) != 1) return absl::InternalError("cannot read its end");
  if (last == '\n') return 0;
  // Find the last newline, reading backwards.
  off_t cut = 0;
  char buf[4096];
  for (off_t end = size; end > 0 && cut == 0;) {
    const off_t begin = std::max<off_t>(0, end - static_cast<off_t>(sizeof(buf)));
    const ssize_t n = ::pread(fd, buf, static_cast<std::size_t>(end - begin), begin);
    if (n != end - begin) return absl::InternalError("cannot read it");
    for (ssize_t i = n - 1; i >= 0; --i) {
      if (buf[i] == '\n') {
        cut = begin + i + 1;
        break;
      }
    }
    end = begin;
  }
  std::string torn(static_cast<std::size_t>(size - cut), '\0');
  if (::pread(fd, torn.data(), torn.size(), cut) != static_cast<ssize_t>(torn.size())) {
    return absl::InternalError("cannot read its torn line");
  }
  const std::string torn_path = path + ".torn";
  const int out = ::open(torn_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (out < 0) return absl::InternalError(absl::StrCat("cannot write ", torn_path, ": ", std::strerror(errno)));
  torn.push_back('\n');
  const bool saved = ::write(out, torn.data(), torn.size()) == static_cast<ssize_t>(torn.size()) &&
                     ::fsync(out) == 0;
  ::close(out);
  if (!saved) return absl::InternalError(absl::StrCat("cannot write ", torn_path));
  if (::ftruncate(fd, cut) != 0) return absl::InternalError(absl::StrCat("cannot cut it: ", std::strerror(errno)));
  return torn.size() - 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DecisionLog>> DecisionLog::Open(const std::string& path,
                                                               DecisionLogOptions options) {
  if (path.empty()) return std::unique_ptr<DecisionLog>(new DecisionLog(nullptr, options, 0));
  int fd = 1;
  std::size_t torn = 0;
  if (path != "-") {
    // Read-write: the torn-line check reads the end of the file.
    fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) {
      return absl::InvalidArgumentError(absl::StrCat("decision log ", path, ": ", std::strerror(errno)));
    }
    auto repaired = RepairTornTail(fd, path);
    if (!repaired.ok()) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("decision log ", path, ": torn last line: ", repaired.status().message()));
    }
    torn = *repaired;
  }
  return std::unique_ptr<DecisionLog>(
      new DecisionLog(std::make_shared<Writer>(fd, options.max_queued_bytes), options, torn));
}

namespace {
std::atomic<uint64_t> g_next_log_id{1};
}  // namespace

struct DecisionLog::ThreadBuffer {
  std::mutex mu;
  std::string lines;  // Complete lines, each ending in '\n'.
};

DecisionLog::DecisionLog(std::shared_ptr<Writer> writer, DecisionLogOptions options,
                         std::size_t torn_bytes)
    : writer_(std::move(writer)),
      options_(options),
      torn_bytes_(torn_bytes),
      id_(g_next_log_id.fetch_add(1)) {
  if (!writer_) return;
  std::thread([w = writer_] { w->Run(); }).detach();  // Ends when stopped and drained.
  if (options_.before_reply) return;  // Every call hands its lines over itself.
  flusher_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(kBatchInterval), [this] { return stop_; })) {
      lock.unlock();
      FlushBuffers();
      lock.lock();
    }
  });
}

DecisionLog::~DecisionLog() {
  if (!writer_) return;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  Flush();
  // The writer thread ends once its queue is drained; on a stalled sink it
  // is left blocked in write() holding its own reference to the Writer.
  std::lock_guard<std::mutex> lock(writer_->mu);
  writer_->stop = true;
  writer_->cv.notify_all();
}

DecisionLog::ThreadBuffer& DecisionLog::Local() {
  struct Slot {
    uint64_t log = 0;
    std::shared_ptr<ThreadBuffer> buffer;
  };
  thread_local Slot slot;
  if (slot.log != id_) {
    slot.log = id_;
    slot.buffer = std::make_shared<ThreadBuffer>();
    std::lock_guard<std::mutex> lock(buffers_mu_);
    buffers_.push_back(slot.buffer);
  }
  return *slot.buffer;
}

void DecisionLog::FlushBuffers() {
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
  {
    std::lock_guard<std::mutex> lock(buffers_mu_);
    buffers = buffers_;
  }
  for (auto& b : buffers) {
    std::string lines;
    {
      std::lock_guard<std::mutex> lock(b->mu);
      lines.swap(b->lines);
    }
    if (!lines.empty()) writer_->Push(std::move(lines));
  }
}

void DecisionLog::Record(const DecisionLogEntry& entry) {
  if (!writer_) return;
  ThreadBuffer& buffer = Local();
  std::string full;
  {
    std::lock_guard<std::mutex> lock(buffer.mu);  // Uncontended but for the flusher.
    AppendLine(entry, &buffer.lines);
    buffer.lines.push_back('\n');
    // Before-reply: the call's lines wait for its AfterWritten, as one chunk.
    if (!options_.before_reply && buffer.lines.size() >= kBatchBytes) full.swap(buffer.lines);
  }
  if (!full.empty()) writer_->Push(std::move(full));
}

void DecisionLog::AfterWritten(WrittenCallback written) {
  if (!writer_ || !options_.before_reply) {
    written(true);
    return;
  }
  ThreadBuffer& buffer = Local();
  std::string lines;
  {
    std::lock_guard<std::mutex> lock(buffer.mu);
    lines.swap(buffer.lines);
    // The next call's line is formatted into room of this one's size: one
    // allocation instead of a string grown several times over.
    buffer.lines.reserve(lines.size());
  }
  if (lines.empty()) {
    written(true);  // This call recorded nothing.
    return;
  }
  writer_->Push(std::move(lines), std::move(written));
}

bool DecisionLog::Flush() {
  if (!writer_) return true;
  FlushBuffers();
  return writer_->WaitDrained(options_.flush_timeout);
}

uint64_t DecisionLog::dropped_lines() const {
  return writer_ ? writer_->dropped.load(std::memory_order_relaxed) : 0;
}

}  // namespace buildgate
