// InternPool<T>: shared immutable values keyed by content, so that equal
// compiled parts (a scope's tables, a merged catalog) exist once however many
// policy sets use them. A value lives as long as its last user holds it; the
// pool keeps only weak references and sweeps expired keys as it grows.
//
// Values are built outside the pool's lock, so compiles on several threads
// run in parallel. Two threads asking for the same missing key may both
// build; the first to insert wins and the other's copy is dropped, so every
// caller gets the one shared value.
//
// Thread-safe. Not on the decision path (compile only).
#ifndef BUILDGATE_ENGINE_INTERNAL_INTERN_POOL_H_
#define BUILDGATE_ENGINE_INTERNAL_INTERN_POOL_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace buildgate {

template <typename T>
class InternPool {
 public:
  struct Result {
    std::shared_ptr<const T> value;
    bool built = false;  // This call's build is the shared value.
  };

  // The live value for `key`, else `build()`'s (called without the lock).
  template <typename Build>
  Result GetOrBuild(const std::string& key, Build&& build) {
    if (std::shared_ptr<const T> alive = Find(key)) return {std::move(alive), false};
    std::shared_ptr<const T> fresh = build();
    std::lock_guard<std::mutex> lock(mu_);
    std::weak_ptr<const T>& slot = map_[key];
    if (std::shared_ptr<const T> raced = slot.lock()) return {std::move(raced), false};
    slot = fresh;
    if (++inserts_ % kSweepEvery == 0) {
      absl::erase_if(map_, [](const auto& kv) { return kv.second.expired(); });
    }
    return {std::move(fresh), true};
  }

  // How many values are alive (tests and benchmarks).
  std::size_t Live() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const auto& kv : map_) n += kv.second.expired() ? 0 : 1;
    return n;
  }

 private:
  static constexpr uint64_t kSweepEvery = 1024;

  std::shared_ptr<const T> Find(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second.lock();
  }

  // std::mutex, not absl::Mutex: ThreadSanitizer must see it (Debian's
  // Abseil is not built for it).
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::weak_ptr<const T>> map_;  // Guarded by mu_.
  uint64_t inserts_ = 0;                                          // Guarded by mu_.
};

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_INTERNAL_INTERN_POOL_H_
