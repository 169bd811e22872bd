#include "store/policy_store.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file.h"
#include "input/input_error_message.h"

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

// Size + mtime + inode: what tells a changed file from one read before.
std::string Signature(const struct stat& st) {
  return absl::StrCat(st.st_size, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_ino);
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
    KeepWhileHandlesLive(std::move(local.snapshot));
    local.snapshot = Snapshot();
  }
  return local.snapshot.get();
}

PolicyHandle PolicyStore::Lookup(absl::string_view org_id) const {
  const PolicySnapshot* snapshot = LocalSnapshot();
  const StoredPolicySet* stored = snapshot == nullptr ? nullptr : snapshot->Find(org_id);
  return stored == nullptr ? PolicyHandle() : PolicyHandle(stored->compiled.get());
}

PolicyStore::~PolicyStore() { StopWatching(); }

std::string PolicyStore::SourceOf(const std::string& name) const {
  return dir_.empty() ? absl::StrCat("embedded:", name) : absl::StrCat(dir_, "/", name);
}

void PolicyStore::LoadFile(const std::string& name, std::string content, FileState* state,
                           ReloadReport* report) {
  ++report->files_read;
  state->content = std::move(content);
  const std::string source = SourceOf(name);
  auto loaded = CompiledPolicySet::ParseAndCompile(state->content, source, options_.limits);
  absl::Status status = loaded.status();
  std::shared_ptr<const CompiledPolicySet> compiled = loaded.ok() ? *std::move(loaded) : nullptr;
  if (!status.ok()) {
    ++report->files_failed;
    state->error = std::string(status.message());
    state->error_detail = InputErrorMessage(status);
    v1::FileError e;
    e.set_file(source);
    e.set_error(state->error);
    *e.mutable_detail() = state->error_detail;
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
  state->error_detail.Clear();
}

void PolicyStore::FileFault(const std::string& name, std::string error, FileState* state,
                            ReloadReport* report) {
  const bool is_new = state->error != error;
  state->error = std::move(error);
  state->error_detail.Clear();  // The file itself, not its content.
  state->content.clear();
  state->signature.clear();  // Read it again once the fault is gone.
  if (is_new) {  // A fault that persists is reported once.
    ++report->files_failed;
    v1::FileError e;
    e.set_file(SourceOf(name));
    e.set_error(state->error);
    report->new_errors.push_back(std::move(e));
  }
}

void PolicyStore::DirectoryFault(std::string error, std::string* current, ReloadReport* report) {
  if (*current == error) return;
  report->changed = true;  // A fault came, went or changed.
  *current = std::move(error);
  if (current->empty()) return;
  ++report->files_failed;
  v1::FileError e;
  e.set_file(dir_);
  e.set_error(*current);
  report->new_errors.push_back(std::move(e));
}

struct PolicyStore::Listing {
  struct Entry {
    std::string name;
    std::string path;
    struct stat st;      // Of the file a symlink points to.
    int stat_errno = 0;  // stat() failed: dangling symlink, no permission.
  };
  std::string data_target;     // ConfigMap volume: where "..data" pointed; else empty.
  std::vector<Entry> entries;  // Policy file names only.
  std::size_t total_bytes = 0;
};

// What a reload found for one listed file. Examine() fills it without
// changing any FileState, so a reload that finds the ConfigMap swapped
// under it can drop everything it found.
struct PolicyStore::Found {
  enum class What { kUnchanged, kFault, kPending, kContent };
  What what = What::kUnchanged;
  std::string signature;
  std::string text;         // kFault: the error; kContent: the file's content.
  uint64_t last_event = 0;  // kContent: tracker_.LastEvent() before it was read.
};

absl::StatusOr<std::string> PolicyStore::DataLinkTarget() const {
  const std::string link = absl::StrCat(dir_, "/..data");
  char target[PATH_MAX];
  const ssize_t n = ::readlink(link.c_str(), target, sizeof(target));
  if (n < 0) {
    // No "..data", or not a symlink: not a ConfigMap volume. A missing or
    // unreadable dir_ is for the listing to report.
    if (errno == ENOENT || errno == EINVAL || errno == ENOTDIR || errno == EACCES) {
      return std::string();
    }
    return absl::UnavailableError(absl::StrCat("cannot read ", link, ": ", std::strerror(errno)));
  }
  if (n == 0 || static_cast<std::size_t>(n) == sizeof(target)) {
    return absl::UnavailableError(absl::StrCat(link, ": unusable symlink target"));
  }
  return std::string(target, static_cast<std::size_t>(n));
}

absl::Status PolicyStore::List(Listing* listing) const {
  auto data_target = DataLinkTarget();
  if (!data_target.ok()) return data_target.status();
  listing->data_target = *data_target;
  // In a ConfigMap volume the top-level names are symlinks through "..data",
  // each resolved when opened; reading the directory "..data" points to
  // now reads one version of the whole ConfigMap.
  std::string read_dir = dir_;
  if (!listing->data_target.empty()) {
    read_dir = listing->data_target[0] == '/' ? listing->data_target
                                              : absl::StrCat(dir_, "/", listing->data_target);
  }
  std::error_code ec;
  std::filesystem::directory_iterator it(read_dir, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    Listing::Entry e;
    e.name = it->path().filename().string();
    if (!IsPolicyFileName(e.name)) continue;
    e.path = it->path().string();
    if (::stat(e.path.c_str(), &e.st) != 0) e.stat_errno = errno;
    if (e.stat_errno == 0 && S_ISREG(e.st.st_mode)) listing->total_bytes += e.st.st_size;
    listing->entries.push_back(std::move(e));
    if (listing->entries.size() > options_.max_files) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "more than ", options_.max_files, " policy files (limit max_policy_files); nothing reloaded"));
    }
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "cannot read policy directory",
        listing->data_target.empty() ? "" : absl::StrCat(" (..data -> ", listing->data_target, ")"),
        ": ", ec.message()));
  }
  if (listing->total_bytes > options_.max_total_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("policy files hold ", listing->total_bytes, " bytes, more than ",
                     options_.max_total_bytes, " (limit max_policy_dir_bytes); nothing reloaded"));
  }
  const bool serving =
      std::any_of(files_.begin(), files_.end(), [](const auto& f) { return f.second.good; });
  if (listing->entries.empty() && serving) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no policy files",
        listing->data_target.empty() ? "" : absl::StrCat(" in ..data -> ", listing->data_target),
        ": an emptied directory is a fault, not the deletion of every set; the last good sets keep "
        "serving"));
  }
  return absl::OkStatus();
}

bool PolicyStore::Finished(const std::string& name, bool atomic, absl::Time mtime,
                           const std::string& signature, absl::Time now, bool first_load) const {
  // Kubernetes writes a ConfigMap's files before it swaps "..data"; at the
  // first load there is nothing else to serve.
  if (first_load || atomic) return true;
  if (!tracker_.watching()) return false;  // Cannot tell: wait (a reported fault).
  switch (tracker_.Last(name)) {
    case FileWriteTracker::LastWrite::kOpen:
      return false;  // However long ago it was last written.
    case FileWriteTracker::LastWrite::kRenamedIn:
      return true;
    case FileWriteTracker::LastWrite::kClosed:  // Its writer may open it again: settle.
    case FileWriteTracker::LastWrite::kNone:    // Changed behind a symlink, or before watching.
      break;
  }
  auto it = files_.find(name);
  const absl::Time same_since =
      it != files_.end() && it->second.settling == signature ? it->second.settling_since : now;
  return now - mtime >= options_.settle_time || now - same_since >= options_.settle_time;
}

PolicyStore::Found PolicyStore::Examine(const Listing& listing, std::size_t index, absl::Time now,
                                        bool first_load) {
  const Listing::Entry& entry = listing.entries[index];
  const bool atomic = !listing.data_target.empty();
  Found found;
  if (entry.stat_errno != 0) {
    found.what = Found::What::kFault;
    found.text = absl::StrCat(entry.stat_errno == ENOENT ? "dangling symlink" : "cannot stat", ": ",
                              std::strerror(entry.stat_errno));
    return found;
  }
  if (!S_ISREG(entry.st.st_mode)) {
    found.what = Found::What::kFault;
    found.text = "not a regular file";
    return found;
  }
  found.signature = Signature(entry.st);
  auto it = files_.find(entry.name);
  if (it != files_.end() && it->second.signature == found.signature) return found;  // kUnchanged.
  found.what = Found::What::kPending;
  if (!Finished(entry.name, atomic, absl::TimeFromTimespec(entry.st.st_mtim), found.signature, now,
                first_load)) {
    return found;
  }
  found.last_event = tracker_.LastEvent(entry.name);
  auto content = ReadFileToString(entry.path, options_.limits.max_document_bytes);
  if (!content.ok()) {
    found.what = Found::What::kFault;
    found.text = std::string(content.status().message());
    return found;
  }
  // Written to while it was read (the writer came back, or a new one
  // started): what was read may be cut short. Wait for the next reload.
  struct stat after;
  if (::stat(entry.path.c_str(), &after) != 0 || Signature(after) != found.signature ||
      content->size() != static_cast<std::size_t>(entry.st.st_size)) {
    return found;  // kPending.
  }
  found.what = Found::What::kContent;
  found.text = *std::move(content);
  return found;
}

void PolicyStore::ReloadDirectory(ReloadReport* report) {
  const absl::Time now = absl::Now();
  const absl::Status watched = tracker_.Watch(dir_);
  tracker_.Drain();
  Listing listing;
  const absl::Status listed = List(&listing);
  if (!listed.ok() && !listing.data_target.empty() &&
      DataLinkTarget().value_or("") != listing.data_target) {
    // "..data" moved on while it was listed (its old directory was being
    // deleted): not a fault. The next reload lists the new version.
    return;
  }
  if (!listed.ok()) {
    // A fault, not a deletion: every set stays as it was.
    report->dir_fault = true;
    last_dir_fault_ = now;
    DirectoryFault(std::string(listed.message()), &dir_error_, report);
    return;
  }
  const bool first_load = !loaded();
  std::vector<Found> found;
  found.reserve(listing.entries.size());
  for (std::size_t i = 0; i < listing.entries.size(); ++i) {
    found.push_back(Examine(listing, i, now, first_load));
  }
  // Events that came while the files were read: a file written meanwhile
  // waits for the next reload.
  tracker_.Drain();
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (found[i].what == Found::What::kContent &&
        tracker_.LastEvent(listing.entries[i].name) != found[i].last_event) {
      found[i].what = Found::What::kPending;
      found[i].text.clear();
    }
  }
  if (!listing.data_target.empty()) {
    // "..data" moved on while the files were read: they may mix two
    // versions of the ConfigMap (or miss files of one being deleted). Drop
    // them; the next reload reads the new version whole.
    auto target_now = DataLinkTarget();
    if (!target_now.ok() || *target_now != listing.data_target) return;
  }

  // Apply what was found.
  DirectoryFault("", &dir_error_, report);
  DirectoryFault(
      watched.ok() || !listing.data_target.empty()
          ? ""
          : absl::StrCat(watched.message(), "; files changed in place are not loaded until it can"),
      &watch_error_, report);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const std::string& name = listing.entries[i].name;
    Found& f = found[i];
    seen.insert(name);
    FileState& state = files_[name];
    state.atomic = !listing.data_target.empty();
    switch (f.what) {
      case Found::What::kFault:
        FileFault(name, std::move(f.text), &state, report);
        break;
      case Found::What::kUnchanged:
        state.settling.clear();  // Changed and changed back.
        break;
      case Found::What::kPending:
        if (state.settling != f.signature) {
          state.settling = f.signature;
          state.settling_since = now;
        }
        ++report->files_pending;
        break;
      case Found::What::kContent: {
        state.signature = f.signature;
        state.settling.clear();
        const bool touched_only = f.text == state.content && (state.good || !state.error.empty());
        if (!touched_only) LoadFile(name, std::move(f.text), &state, report);
        break;
      }
    }
  }
  // Intended deletions: names gone from a directory listed whole. They are
  // applied together, once no name has disappeared (and no directory fault
  // happened) for settle_time: `rm -rf` or a tool emptying the directory one
  // file at a time ends in an empty directory, a fault, before any of them
  // is deleted. A ConfigMap's keys go with the swap that removed them.
  // Applied only now, after the rest of the directory has loaded.
  absl::Time last_change = last_dir_fault_;
  for (auto& [name, state] : files_) {
    if (seen.count(name) != 0) {
      state.missing_since = absl::InfiniteFuture();
      continue;
    }
    if (state.missing_since == absl::InfiniteFuture()) state.missing_since = now;
    if (!state.atomic) last_change = std::max(last_change, state.missing_since);
  }
  const bool deletions_settled = first_load || now - last_change >= options_.settle_time;
  for (auto it = files_.begin(); it != files_.end();) {
    FileState& state = it->second;
    if (seen.count(it->first) != 0) {
      ++it;
      continue;
    }
    if (!state.atomic && !deletions_settled) {
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
  if (report.changed) Publish(&report);
  return report;
}

void PolicyStore::Publish(ReloadReport* report) {
  const std::shared_ptr<const PolicySnapshot> previous = Snapshot();
  auto snap = std::make_shared<PolicySnapshot>();
  snap->loaded_at = clock_();
  for (const std::string* error : {&dir_error_, &watch_error_}) {
    if (error->empty()) continue;
    v1::FileError e;
    e.set_file(dir_);
    e.set_error(*error);
    snap->file_errors.push_back(std::move(e));
  }
  std::map<std::string, std::vector<std::string>> definers;  // org_id -> files that define it.
  for (const auto& [name, state] : files_) {  // Sorted by file name.
    const std::string source = SourceOf(name);
    if (!state.settling.empty() || state.missing_since != absl::InfiniteFuture()) {
      snap->pending_files.push_back(source);  // A change or a deletion, settling.
    }
    if (!state.error.empty()) {
      v1::FileError e;
      e.set_file(source);
      e.set_error(state.error);
      if (!state.error_detail.message().empty()) *e.mutable_detail() = state.error_detail;
      snap->file_errors.push_back(std::move(e));
    }
    if (state.good) definers[state.good->info.org_id()].push_back(name);
  }
  std::set<std::string> conflicts;
  for (const auto& [org, names] : definers) {
    if (names.size() == 1) {
      const FileState& state = files_.at(names[0]);
      StoredPolicySet stored = *state.good;
      stored.info.set_last_error(state.error);
      snap->sets.emplace(org, std::move(stored));
      continue;
    }
    // No file order decides which one serves: the org keeps what it served
    // before the second definition came (nothing if it served nothing).
    std::vector<std::string> sources;
    for (const std::string& name : names) sources.push_back(SourceOf(name));
    const std::string error = absl::StrCat("org_id \"", org, "\" is defined by ", names.size(),
                                           " files (", absl::StrJoin(sources, ", "),
                                           "); the org keeps its last good definition until one "
                                           "file defines it");
    conflicts.insert(error);
    const bool is_new = conflicts_.count(error) == 0;  // A lasting conflict is reported once.
    for (const std::string& source : sources) {
      v1::FileError e;
      e.set_file(source);
      e.set_error(error);
      snap->file_errors.push_back(e);
      if (is_new) report->new_errors.push_back(std::move(e));
    }
    if (is_new) report->files_failed += static_cast<int>(names.size());
    const StoredPolicySet* last_good = previous ? previous->Find(org) : nullptr;
    if (last_good != nullptr) {
      StoredPolicySet stored = *last_good;
      stored.info.set_last_error(error);
      snap->sets.emplace(org, std::move(stored));
    }
  }
  conflicts_ = std::move(conflicts);
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
