#include "service/policy_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file.h"

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

PolicyStore::PolicyStore(std::string dir, Clock clock, PolicyStoreOptions options)
    : dir_(std::move(dir)),
      clock_(std::move(clock)),
      options_(std::move(options)),
      id_(g_next_store_id.fetch_add(1)) {}

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
  auto loaded = CompiledPolicySet::ParseAndCompile(state->content, source, options_.limits);
  absl::Status status = loaded.status();
  std::shared_ptr<const CompiledPolicySet> compiled = loaded.ok() ? *std::move(loaded) : nullptr;
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
  stored.info.set_revision(compiled->revision());
  stored.info.set_fingerprint(compiled->fingerprint());
  stored.info.set_source(source);
  stored.info.set_loaded_at(Rfc3339(clock_()));
  for (std::string& s : compiled->ScopeNames()) stored.info.add_scopes(std::move(s));
  state->good = std::move(stored);
  state->error.clear();
}

void PolicyStore::FileFault(const std::string& name, std::string error, FileState* state,
                            ReloadReport* report) {
  const bool is_new = state->error != error;
  state->error = std::move(error);
  state->content.clear();
  state->signature.clear();  // Read it again once the fault is gone.
  if (is_new) {  // A fault that persists is reported once.
    ++report->files_failed;
    v1::FileError e;
    e.set_file(absl::StrCat(dir_, "/", name));
    e.set_error(state->error);
    report->new_errors.push_back(std::move(e));
  }
}

struct PolicyStore::Listing {
  struct Entry {
    std::string name;
    std::string path;
    struct stat st;      // Of the file a symlink points to.
    int stat_errno = 0;  // stat() failed: dangling symlink, no permission.
    bool atomic = false; // Behind a ConfigMap "..data" symlink.
  };
  std::vector<Entry> entries;  // Policy file names only.
  std::size_t total_bytes = 0;
};

absl::Status PolicyStore::List(Listing* listing) const {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    Listing::Entry e;
    e.name = it->path().filename().string();
    if (!IsPolicyFileName(e.name)) continue;
    e.path = it->path().string();
    if (::stat(e.path.c_str(), &e.st) != 0) e.stat_errno = errno;
    struct stat link;
    if (::lstat(e.path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      std::error_code link_ec;
      const std::string target = std::filesystem::read_symlink(it->path(), link_ec).string();
      e.atomic = !link_ec && absl::StartsWith(target, "..data/");
    }
    if (e.stat_errno == 0 && S_ISREG(e.st.st_mode)) listing->total_bytes += e.st.st_size;
    listing->entries.push_back(std::move(e));
    if (listing->entries.size() > options_.max_files) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "more than ", options_.max_files, " policy files (limit max_policy_files); nothing reloaded"));
    }
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot read policy directory: ", ec.message()));
  if (listing->total_bytes > options_.max_total_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("policy files hold ", listing->total_bytes, " bytes, more than ",
                     options_.max_total_bytes, " (limit max_policy_dir_bytes); nothing reloaded"));
  }
  return absl::OkStatus();
}

void PolicyStore::ReloadDirectory(ReloadReport* report) {
  Listing listing;
  const absl::Status listed = List(&listing);
  if (!listed.ok()) {
    // A fault, not a deletion: every set stays as it was.
    report->dir_fault = true;
    if (dir_error_ != listed.message()) {
      ++report->files_failed;
      dir_error_ = std::string(listed.message());
      v1::FileError e;
      e.set_file(dir_);
      e.set_error(dir_error_);
      report->new_errors.push_back(std::move(e));
      report->changed = true;
    }
    return;
  }
  if (!dir_error_.empty()) report->changed = true;  // The fault cleared.
  dir_error_.clear();
  const bool first_load = !loaded();
  const absl::Time now = absl::Now();
  std::set<std::string> seen;
  for (const Listing::Entry& entry : listing.entries) {
    seen.insert(entry.name);
    FileState& state = files_[entry.name];
    state.atomic = entry.atomic;
    if (entry.stat_errno != 0) {
      FileFault(entry.name,
                absl::StrCat(entry.stat_errno == ENOENT ? "dangling symlink" : "cannot stat", ": ",
                             std::strerror(entry.stat_errno)),
                &state, report);
      continue;
    }
    if (!S_ISREG(entry.st.st_mode)) {
      FileFault(entry.name, "not a regular file", &state, report);
      continue;
    }
    const std::string signature = absl::StrCat(entry.st.st_size, ":", entry.st.st_mtim.tv_sec, ".",
                                               entry.st.st_mtim.tv_nsec, ":", entry.st.st_ino);
    if (state.signature == signature) continue;
    // Changed: load once settled.
    if (state.settling != signature) {
      state.settling = signature;
      state.settling_since = now;
    }
    const absl::Time mtime = absl::TimeFromTimespec(entry.st.st_mtim);
    const bool settled = first_load || entry.atomic || now - mtime >= options_.settle_time ||
                         now - state.settling_since >= options_.settle_time;
    if (!settled) {
      ++report->files_pending;
      continue;
    }
    auto content = ReadFileToString(entry.path, options_.limits.max_document_bytes);
    if (!content.ok()) {
      FileFault(entry.name, std::string(content.status().message()), &state, report);
      continue;
    }
    state.signature = signature;
    state.settling.clear();
    if (*content == state.content && (state.good || !state.error.empty())) continue;  // Touched only.
    LoadFile(entry.name, *std::move(content), &state, report);
  }
  // Intended deletions: names gone from a directory listed whole, and gone
  // for settle_time (`rm -rf` empties a directory before removing it: that
  // is a fault, not a deletion) unless Kubernetes swapped them out
  // atomically. Applied only now, after the rest of the directory has loaded.
  for (auto it = files_.begin(); it != files_.end();) {
    FileState& state = it->second;
    if (seen.count(it->first) != 0) {
      state.missing_since = absl::InfiniteFuture();
      ++it;
      continue;
    }
    if (state.missing_since == absl::InfiniteFuture()) state.missing_since = now;
    if (!first_load && !state.atomic && now - state.missing_since < options_.settle_time) {
      ++report->files_pending;
      ++it;
      continue;
    }
    if (state.good) ++report->sets_removed;
    it = files_.erase(it);
  }
  if (report->files_pending != pending_count_) report->changed = true;
  pending_count_ = report->files_pending;
}

ReloadReport PolicyStore::Reload() {
  ReloadReport report;
  if (dir_.empty()) {
    for (const auto& [name, content] : buildgate_examples::EmbeddedFiles()) {
      FileState& state = files_[name];
      if (state.content == content && (state.good || !state.error.empty())) continue;
      LoadFile(name, content, &state, &report);
    }
  } else {
    ReloadDirectory(&report);
  }
  report.changed = report.changed || report.files_read > 0 || report.files_failed > 0 ||
                   report.sets_removed > 0 || !loaded();
  // files_failed counts new faults only, so a lasting fault publishes once.
  if (report.changed) Publish();
  return report;
}

void PolicyStore::Publish() {
  auto snap = std::make_shared<PolicySnapshot>();
  snap->loaded_at = clock_();
  if (!dir_error_.empty()) {
    v1::FileError e;
    e.set_file(dir_);
    e.set_error(dir_error_);
    snap->file_errors.push_back(std::move(e));
  }
  std::map<std::string, std::string> owner;  // org_id -> file that defines it.
  for (const auto& [name, state] : files_) {  // Sorted by file name.
    const std::string source = dir_.empty() ? absl::StrCat("embedded:", name) : absl::StrCat(dir_, "/", name);
    if (!state.settling.empty() || state.missing_since != absl::InfiniteFuture()) {
      snap->pending_files.push_back(source);  // A change or a deletion, settling.
    }
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
      if (on_reload && report.changed) {
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
