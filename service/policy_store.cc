#include "service/policy_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "engine/proto_text.h"

namespace buildgate_examples {
const std::map<std::string, std::string>& EmbeddedFiles();
}  // namespace buildgate_examples

namespace buildgate {
namespace {

bool IsPolicyFileName(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;  // Also skips ConfigMap "..data".
  return absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml") ||
         absl::EndsWith(name, ".json");
}

std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()); }

}  // namespace

namespace {
std::atomic<uint64_t> g_next_store_id{1};
}  // namespace

PolicyStore::PolicyStore(std::string dir, Clock clock)
    : dir_(std::move(dir)), clock_(std::move(clock)), id_(g_next_store_id.fetch_add(1)) {}

const PolicySnapshot* PolicyStore::LocalSnapshot() const {
  struct Local {
    uint64_t store = 0;
    uint64_t version = 0;
    std::shared_ptr<const PolicySnapshot> snapshot;
  };
  thread_local Local local;
  const uint64_t version = version_.load(std::memory_order_acquire);
  if (local.store != id_ || local.version != version || local.snapshot == nullptr) {
    local.store = id_;
    local.version = version;
    local.snapshot = Snapshot();
  }
  return local.snapshot.get();
}

PolicyStore::~PolicyStore() { StopWatching(); }

void PolicyStore::LoadFile(const std::string& name, std::string content, FileState* state,
                           ReloadReport* report) {
  ++report->files_read;
  state->content = std::move(content);
  const std::string source = dir_.empty() ? absl::StrCat("embedded:", name) : absl::StrCat(dir_, "/", name);
  v1::PolicySet set;
  absl::Status status = ParseYamlToMessage(state->content, source, &set);
  std::shared_ptr<const CompiledPolicySet> compiled;
  if (status.ok()) {
    auto c = CompiledPolicySet::Compile(set);
    if (c.ok()) {
      compiled = *std::move(c);
    } else {
      status = absl::InvalidArgumentError(absl::StrCat(source, ": ", c.status().message()));
    }
  }
  if (!status.ok()) {
    ++report->files_failed;
    state->error = std::string(status.message());
    v1::FileError e;
    e.set_file(source);
    e.set_error(state->error);
    report->new_errors.push_back(std::move(e));
    return;  // The last good version (if any) stays.
  }
  StoredPolicySet stored;
  stored.compiled = compiled;
  stored.info.set_org_id(compiled->org_id());
  stored.info.set_revision(compiled->org_scope().revision);
  stored.info.set_fingerprint(compiled->fingerprint());
  stored.info.set_source(source);
  stored.info.set_loaded_at(Rfc3339(clock_()));
  std::vector<std::string> scopes;
  for (const auto& [key, scope] : compiled->scopes()) scopes.push_back(scope->name);
  std::sort(scopes.begin(), scopes.end());
  for (auto& s : scopes) stored.info.add_scopes(std::move(s));
  state->good = std::move(stored);
  state->error.clear();
}

ReloadReport PolicyStore::Reload() {
  ReloadReport report;
  std::set<std::string> seen;
  if (dir_.empty()) {
    for (const auto& [name, content] : buildgate_examples::EmbeddedFiles()) {
      seen.insert(name);
      FileState& state = files_[name];
      if (state.content == content && (state.good || !state.error.empty())) continue;
      LoadFile(name, content, &state, &report);
    }
  } else {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir_, ec);
    if (ec) {
      v1::FileError e;
      e.set_file(dir_);
      e.set_error(absl::StrCat("cannot read policy directory: ", ec.message()));
      report.new_errors.push_back(e);
      ++report.files_failed;
    }
    for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!IsPolicyFileName(name)) continue;
      struct stat st;
      if (::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      seen.insert(name);
      const std::string signature =
          absl::StrCat(st.st_size, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_ino);
      FileState& state = files_[name];
      if (state.signature == signature) continue;
      state.signature = signature;
      auto content = ReadFileToString(it->path().string());
      if (!content.ok()) {
        ++report.files_failed;
        state.error = std::string(content.status().message());
        v1::FileError e;
        e.set_file(it->path().string());
        e.set_error(state.error);
        report.new_errors.push_back(std::move(e));
        continue;
      }
      if (*content == state.content && (state.good || !state.error.empty())) continue;  // Touched only.
      LoadFile(name, *std::move(content), &state, &report);
    }
  }
  // Deleted files go only now, after the rest of the directory has loaded.
  for (auto it = files_.begin(); it != files_.end();) {
    if (seen.count(it->first) == 0) {
      if (it->second.good) ++report.sets_removed;
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  report.changed = report.files_read > 0 || report.sets_removed > 0 || !loaded();
  if (report.changed) Publish();
  return report;
}

void PolicyStore::Publish() {
  auto snap = std::make_shared<PolicySnapshot>();
  snap->loaded_at = clock_();
  std::map<std::string, std::string> owner;  // org_id -> file that defines it.
  for (const auto& [name, state] : files_) {  // Sorted by file name.
    const std::string source = dir_.empty() ? absl::StrCat("embedded:", name) : absl::StrCat(dir_, "/", name);
    if (!state.error.empty()) {
      v1::FileError e;
      e.set_file(source);
      e.set_error(state.error);
      snap->file_errors.push_back(std::move(e));
    }
    if (!state.good) continue;
    const std::string& org = state.good->info.org_id();
    auto [it, inserted] = owner.emplace(org, source);
    if (!inserted) {
      v1::FileError e;
      e.set_file(source);
      e.set_error(absl::StrCat("org_id \"", org, "\" is already defined by ", it->second));
      snap->file_errors.push_back(std::move(e));
      continue;
    }
    StoredPolicySet stored = *state.good;
    stored.info.set_last_error(state.error);
    snap->sets.emplace(org, std::move(stored));
  }
  std::atomic_store(&snapshot_, std::shared_ptr<const PolicySnapshot>(std::move(snap)));
  version_.fetch_add(1, std::memory_order_release);
}

void PolicyStore::StartWatching(absl::Duration interval,
                                std::function<void(const ReloadReport&)> on_reload) {
  if (dir_.empty() || watcher_.joinable()) return;
  stop_ = false;
  watcher_ = std::thread([this, interval, on_reload = std::move(on_reload)] {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, absl::ToChronoNanoseconds(interval), [this] { return stop_; })) {
      lock.unlock();
      ReloadReport report = Reload();
      if (on_reload && (report.files_read > 0 || report.sets_removed > 0 || report.files_failed > 0)) {
        on_reload(report);
      }
      lock.lock();
    }
  });
}

void PolicyStore::StopWatching() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace buildgate
