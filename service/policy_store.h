// PolicyStore: the stored policy sets a server serves, loaded from a
// directory (a mounted ConfigMap in a cluster) or from the embedded examples.
//
// Each *.yaml, *.yml or *.json file holds one PolicySet, keyed by its org_id.
// A reload re-reads only changed files and swaps in a new immutable snapshot
// atomically, so readers never wait and never see a half-loaded store:
//  - a file that fails to parse or validate never replaces the last good
//    version of its set; the error is kept per file (FileError) until the
//    file is fixed;
//  - a deleted file's set disappears only with the snapshot built after the
//    whole directory has been read;
//  - two files with the same org_id: the first by file name wins, the other
//    is a file error.
// Faults never drop a set. Only an intended deletion does: the file's name
// is gone from a directory that was listed completely, and stays gone for
// settle_time (at once for ConfigMap entries). These are faults,
// shown in file_errors while the last good sets keep serving:
//  - the directory cannot be listed (moved away, deleted, unreadable) or
//    holds more than max_files policy files or max_total_bytes of them;
//  - a policy file name that is a dangling symlink, unreadable, not a
//    regular file, or larger than the document limit;
//  - a file that does not parse or validate.
// A changed file loads once it has settled: its mtime is at least
// settle_time old, or its size/mtime/inode stayed the same for settle_time,
// so a file read while still being written is not loaded. Files behind a
// Kubernetes ConfigMap's "..data" symlink load at once (Kubernetes swaps the
// whole directory atomically), and so does everything at the first load.
// The store does no logging; Reload() returns a report for the caller to log
// and count.
//
// Thread-safe: Snapshot() may be called from any thread at any time;
// Reload(), Start/StopWatching() from one controlling thread.
#ifndef BUILDGATE_SERVICE_POLICY_STORE_H_
#define BUILDGATE_SERVICE_POLICY_STORE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "buildgate/v1/service.pb.h"
#include "engine/compiled_policy.h"
#include "engine/limits.h"

namespace buildgate {

struct StoredPolicySet {
  std::shared_ptr<const CompiledPolicySet> compiled;
  v1::PolicySetInfo info;
};

// An immutable view of the store at one moment.
struct PolicySnapshot {
  absl::flat_hash_map<std::string, StoredPolicySet> sets;  // By org_id.
  std::vector<v1::FileError> file_errors;                  // Directory fault first, then by file.
  std::vector<std::string> pending_files;                  // Changed, waiting to settle.
  absl::Time loaded_at;

  const StoredPolicySet* Find(absl::string_view org_id) const {
    auto it = sets.find(org_id);
    return it == sets.end() ? nullptr : &it->second;
  }
};

// What one Reload() did.
struct ReloadReport {
  int files_read = 0;      // Files whose content changed and were parsed.
  int files_failed = 0;    // Of those, how many failed.
  int sets_removed = 0;
  int files_pending = 0;   // Changed files not loaded yet: still settling.
  bool dir_fault = false;  // The directory could not be listed whole.
  bool changed = false;    // A new snapshot was published.
  std::vector<v1::FileError> new_errors;  // Failures of this reload.
};

struct PolicyStoreOptions {
  // How long a changed file must stay unchanged before it loads.
  absl::Duration settle_time = absl::Seconds(2);
  // Most policy files, and most bytes of them, in the directory.
  std::size_t max_files = 10000;
  std::size_t max_total_bytes = std::size_t{256} << 20;
  // Limits on each file's text (max_document_bytes and the rest).
  InputLimits limits;
};

class PolicyStore {
 public:
  using Clock = std::function<absl::Time()>;

  // `dir` empty: serve the embedded example policies (never reloaded).
  // `clock` stamps loaded_at; settling compares file mtimes with the
  // real time.
  PolicyStore(std::string dir, Clock clock, PolicyStoreOptions options = PolicyStoreOptions());
  ~PolicyStore();

  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;

  // Reads the directory and publishes a new snapshot if anything changed.
  ReloadReport Reload();

  // The current snapshot; never null after the first Reload().
  std::shared_ptr<const PolicySnapshot> Snapshot() const { return std::atomic_load(&snapshot_); }

  // The current snapshot through a per-thread copy refreshed only when a
  // reload publishes a new one: the request path reads one shared counter
  // and writes nothing shared. Null before the first Reload(). Valid until
  // this thread's next call.
  const PolicySnapshot* LocalSnapshot() const;
  bool loaded() const { return Snapshot() != nullptr; }
  const std::string& dir() const { return dir_; }

  // Polls for changes every `interval` on a background thread, calling
  // `on_reload` after each reload that read something.
  void StartWatching(absl::Duration interval, std::function<void(const ReloadReport&)> on_reload);
  void StopWatching();

 private:
  struct FileState {
    std::string signature;  // Size + mtime + inode of the content read last.
    std::string content;
    std::optional<StoredPolicySet> good;  // Last version that loaded.
    std::string error;                    // Set while the current content (or the file) fails.
    std::string settling;                 // Signature seen changed, not loaded yet.
    absl::Time settling_since;
    bool atomic = false;                  // Behind a ConfigMap "..data" symlink.
    absl::Time missing_since = absl::InfiniteFuture();  // Name gone from the listing since.
  };
  struct Listing;

  void LoadFile(const std::string& name, std::string content, FileState* state, ReloadReport* report);
  void FileFault(const std::string& name, std::string error, FileState* state, ReloadReport* report);
  // Lists the policy files of dir_; an error is a directory fault.
  absl::Status List(Listing* listing) const;
  void ReloadDirectory(ReloadReport* report);
  void Publish();

  const std::string dir_;
  const Clock clock_;
  const PolicyStoreOptions options_;
  std::string dir_error_;  // The directory fault of the last reload, if any.
  int pending_count_ = 0;  // Files settling at the last reload.
  std::map<std::string, FileState> files_;  // By file name; used by the controlling thread only.
  std::shared_ptr<const PolicySnapshot> snapshot_;
  std::atomic<uint64_t> version_{0};  // Bumped after each publish.
  const uint64_t id_;                 // Tells thread copies of different stores apart.

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stop_ = false;
  std::thread watcher_;
};

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_POLICY_STORE_H_
