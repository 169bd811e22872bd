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

namespace buildgate {

struct StoredPolicySet {
  std::shared_ptr<const CompiledPolicySet> compiled;
  v1::PolicySetInfo info;
};

// An immutable view of the store at one moment.
struct PolicySnapshot {
  absl::flat_hash_map<std::string, StoredPolicySet> sets;  // By org_id.
  std::vector<v1::FileError> file_errors;                  // Sorted by file.
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
  bool changed = false;    // A new snapshot was published.
  std::vector<v1::FileError> new_errors;  // Failures of this reload.
};

class PolicyStore {
 public:
  using Clock = std::function<absl::Time()>;

  // `dir` empty: serve the embedded example policies (never reloaded).
  PolicyStore(std::string dir, Clock clock);
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
    std::string signature;  // Size + mtime + inode, to skip unchanged files cheaply.
    std::string content;
    std::optional<StoredPolicySet> good;  // Last version that loaded.
    std::string error;                    // Set while the current content fails.
  };

  void LoadFile(const std::string& name, std::string content, FileState* state, ReloadReport* report);
  void Publish();

  const std::string dir_;
  const Clock clock_;
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
