// PolicyStore: the stored policy sets a server serves, loaded from a
// directory (a mounted ConfigMap in a cluster) or from the embedded examples.
//
// Each *.yaml, *.yml or *.json file holds one PolicySet, keyed by its org_id.
// A reload re-reads only changed files and swaps in a new immutable snapshot
// atomically, so readers never wait and never see a half-loaded store.
//
// It serves only what a writer finished (docs/operating.md, "Policy store"):
//  - a file changed in place loads only once its writer has closed it
//    (inotify, FileWriteTracker) and it has then stayed unchanged for
//    settle_time; a file still open for writing never loads, however long
//    its writer stalls. A file renamed into place loads at once. Files
//    present when watching starts (startup, the directory replaced) count as
//    closed: inotify cannot tell what happened before it watched;
//  - a Kubernetes ConfigMap volume (a "..data" symlink to a timestamped
//    directory) is read from the one directory "..data" points to when the
//    reload starts; if "..data" moved on while it was read, the reload is
//    dropped and the next one reads the new directory whole. Its files load,
//    and its deleted keys go, at once.
// Faults never drop a set; only an intended deletion does: names gone from a
// directory that was listed completely, once no name has disappeared (and no
// directory fault happened) for settle_time (at once across a ConfigMap swap).
// These are faults, shown in file_errors while the last good sets keep
// serving:
//  - the directory cannot be listed (moved away, deleted, unreadable), holds
//    more than max_files policy files or max_total_bytes of them, or holds no
//    policy file at all while sets are served (emptied, or "..data" pointing
//    at an empty directory);
//  - the directory cannot be watched for writers (no inotify); changed files
//    outside a ConfigMap volume then wait until it can;
//  - a policy file name that is a dangling symlink, unreadable, not a
//    regular file, or larger than the document limit;
//  - a file that does not parse or validate: its last good version stays;
//  - two or more files defining one org_id: every one of them is named, and
//    the org keeps serving the definition it served before (none if it
//    had none) until only one file defines it.
// The store does no logging; Reload() returns a report for the caller to log
// and count.
//
// Thread-safe: Snapshot() may be called from any thread at any time;
// Reload(), Start/StopWatching() from one controlling thread.
#ifndef BUILDGATE_STORE_POLICY_STORE_H_
#define BUILDGATE_STORE_POLICY_STORE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "buildgate/v1/service.pb.h"
#include "engine/compiled_policy.h"
#include "input/limits.h"
#include "store/file_write_tracker.h"
#include "store/policy_handle.h"

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
  // How long a file changed in place must stay unchanged after its writer
  // closed it before it loads, and how long names must stay gone before
  // they are deleted.
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

  // The compiled set stored for `org_id`, empty when there is none (or
  // before the first Reload(): see loaded()). Found through a per-thread
  // copy of the snapshot refreshed only when a reload publishes a new one:
  // the request path reads one shared counter and writes nothing shared.
  PolicyHandle Lookup(absl::string_view org_id) const;
  bool loaded() const { return Snapshot() != nullptr; }
  const std::string& dir() const { return dir_; }

  // Polls for changes every `interval` on a background thread, calling
  // `on_reload` after each reload that read something.
  void StartWatching(absl::Duration interval, std::function<void(const ReloadReport&)> on_reload);
  void StopWatching();

 private:
  // The per-thread snapshot copy behind Lookup. Null before the first Reload().
  const PolicySnapshot* LocalSnapshot() const;
  struct FileState {
    std::string signature;  // Size + mtime + inode of the content read last.
    std::string content;
    std::optional<StoredPolicySet> good;  // Last version that loaded.
    std::string error;                    // Set while the current content (or the file) fails.
    v1::InputError error_detail;          // Where in the content, when it is the content that fails.
    std::string settling;                 // Signature seen changed, not loaded yet.
    absl::Time settling_since;
    bool atomic = false;                                // Read from a ConfigMap "..data" directory.
    absl::Time missing_since = absl::InfiniteFuture();  // Name gone from the listing since.
  };
  struct Listing;
  struct Found;

  // "DIR/NAME", or "embedded:NAME" for the embedded examples.
  std::string SourceOf(const std::string& name) const;
  void LoadFile(const std::string& name, std::string content, FileState* state, ReloadReport* report);
  void FileFault(const std::string& name, std::string error, FileState* state, ReloadReport* report);
  // Sets *current to `error` (empty: no fault), reporting it once when new.
  void DirectoryFault(std::string error, std::string* current, ReloadReport* report);
  // Where dir_/..data points; empty when dir_ is not a ConfigMap volume.
  absl::StatusOr<std::string> DataLinkTarget() const;
  // Lists the policy files of dir_ (of the directory "..data" points to in a
  // ConfigMap volume); an error is a directory fault.
  absl::Status List(Listing* listing) const;
  // What the reload does with one listed file; reads it if it is to load.
  Found Examine(const Listing& listing, std::size_t index, absl::Time now, bool first_load);
  // Whether a changed file's writer has finished with it.
  bool Finished(const std::string& name, bool atomic, absl::Time mtime,
                const std::string& signature, absl::Time now, bool first_load) const;
  void ReloadDirectory(ReloadReport* report);
  void Publish(ReloadReport* report);

  const std::string dir_;
  const Clock clock_;
  const PolicyStoreOptions options_;
  std::string dir_error_;    // The directory fault of the last reload, if any.
  std::string watch_error_;  // Why dir_ cannot be watched for writers, if so.
  absl::Time last_dir_fault_ = absl::InfinitePast();  // Deletions settle after it.
  FileWriteTracker tracker_;
  std::set<std::string> conflicts_;  // Org conflicts reported (org and files).
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

#endif  // BUILDGATE_STORE_POLICY_STORE_H_
