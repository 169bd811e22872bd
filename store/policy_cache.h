// CompiledPolicyCache: inline policy sets compiled once and shared by
// content fingerprint (SHA-256 of the deterministic serialization).
//
// Bounded by entry count and approximate bytes. The keys are spread over
// shards; a lookup takes only its shard's reader lock and sets a
// "referenced" bit. Eviction is CLOCK (second chance), an LRU approximation
// that needs no list splice on a hit.
//
// In front of the shards each thread keeps a small map of the sets it used
// last (kThreadCacheEntries). Entries are content-addressed and immutable,
// so they never go stale: a hot-path hit (Lookup) writes no memory any other
// thread reads, which is what lets lookups scale with cores. Sets are handed
// out as PolicyHandles (store/policy_handle.h), valid while they live. A set evicted
// from the shards lives on until the threads that used it move on, so the
// bound is max_entries plus kThreadCacheEntries per thread.
//
// Thread-safe.
#ifndef BUILDGATE_STORE_POLICY_CACHE_H_
#define BUILDGATE_STORE_POLICY_CACHE_H_

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/compiled_policy.h"
#include "store/policy_handle.h"

namespace buildgate {

class CompiledPolicyCache {
 public:
  struct Options {
    std::size_t max_entries = 100000;
    std::size_t max_bytes = std::size_t{1} << 30;
  };
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;
    uint64_t entries = 0;
    uint64_t bytes = 0;
  };

  explicit CompiledPolicyCache(Options options);

  static constexpr std::size_t kThreadCacheEntries = 64;

  // The compiled set for `fingerprint`, empty when it is not cached
  // (counted as a miss). Through the calling thread's front cache.
  PolicyHandle Lookup(absl::string_view fingerprint);

  // Finds `set` by its fingerprint, or compiles and inserts it. Compile
  // errors are returned as is (kInvalidArgument naming the field).
  absl::StatusOr<PolicyHandle> LookupOrCompile(const v1::PolicySet& set);

  // The shards alone, without the thread's front cache: a shared owner, for
  // what runs off the request path (tests of eviction, benchmarks of the
  // shards). Null when not cached (counted as a miss).
  std::shared_ptr<const CompiledPolicySet> Find(absl::string_view fingerprint);

  Stats stats() const;

 private:
  static constexpr int kShards = 16;
  struct Entry {
    std::shared_ptr<const CompiledPolicySet> compiled;
    std::size_t bytes = 0;
    mutable std::atomic<bool> referenced{false};
  };
  // Each shard on its own cache lines, with its own counters, so hits on
  // different shards share nothing.
  struct alignas(64) Shard {
    // std:: locks (not absl::Mutex): Debian's Abseil is not built for
    // ThreadSanitizer, which must see every lock (scripts/test.sh).
    mutable std::shared_mutex mu;
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> misses{0};
    std::atomic<uint64_t> evictions{0};
    absl::flat_hash_map<std::string, std::unique_ptr<Entry>> map;  // Guarded by mu.
    std::deque<std::string> clock;  // Keys in CLOCK order. Guarded by mu.
    std::size_t bytes = 0;  // Guarded by mu.
  };

  Shard& ShardFor(absl::string_view fingerprint);
  struct ThreadCache;
  ThreadCache& Local();
  // The set in this thread's front cache (a hit counted), or null.
  ABSL_ATTRIBUTE_ALWAYS_INLINE const CompiledPolicySet* FrontCacheHit(ThreadCache& local,
                                                                   absl::string_view fingerprint);
  PolicyHandle Remember(ThreadCache& local, std::shared_ptr<const CompiledPolicySet> set);
  absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> GetOrCompile(const v1::PolicySet& set,
                                                                       const std::string& fingerprint);
  // Requires shard.mu held exclusively.
  void InsertLocked(Shard& shard, std::shared_ptr<const CompiledPolicySet> compiled);

  const std::size_t max_entries_per_shard_;
  const std::size_t max_bytes_per_shard_;
  std::array<Shard, kShards> shards_;
  const uint64_t id_;  // Tells thread caches of different instances apart.
  mutable std::mutex threads_mu_;
  std::vector<std::shared_ptr<std::atomic<uint64_t>>> thread_hits_;  // Guarded by threads_mu_.
};

}  // namespace buildgate

#endif  // BUILDGATE_STORE_POLICY_CACHE_H_
