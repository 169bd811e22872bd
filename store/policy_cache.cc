#include "store/policy_cache.h"

#include <algorithm>

#include "absl/hash/hash.h"
#include "common/status.h"

namespace buildgate {

namespace {
std::atomic<uint64_t> g_next_cache_id{1};
}  // namespace

// The calling thread's most recently used sets of one cache instance.
struct CompiledPolicyCache::ThreadCache {
  uint64_t owner = 0;
  std::shared_ptr<std::atomic<uint64_t>> hits;  // Also read by stats().
  absl::flat_hash_map<std::string, std::shared_ptr<const CompiledPolicySet>> sets;
};

CompiledPolicyCache::CompiledPolicyCache(Options options)
    : max_entries_per_shard_(std::max<std::size_t>(1, options.max_entries / kShards)),
      max_bytes_per_shard_(std::max<std::size_t>(1, options.max_bytes / kShards)),
      id_(g_next_cache_id.fetch_add(1)) {}

CompiledPolicyCache::ThreadCache& CompiledPolicyCache::Local() {
  thread_local ThreadCache local;
  if (local.owner != id_) {
    for (auto& [fingerprint, set] : local.sets) KeepWhileHandlesLive(std::move(set));
    local = ThreadCache();
    local.owner = id_;
    local.hits = std::make_shared<std::atomic<uint64_t>>(0);
    std::lock_guard<std::mutex> lock(threads_mu_);
    thread_hits_.push_back(local.hits);
  }
  return local;
}

PolicyHandle CompiledPolicyCache::Remember(ThreadCache& local,
                                           std::shared_ptr<const CompiledPolicySet> set) {
  if (local.sets.size() >= kThreadCacheEntries) {  // Bounded, and cheap.
    for (auto& [fingerprint, kept] : local.sets) KeepWhileHandlesLive(std::move(kept));
    local.sets.clear();
  }
  const CompiledPolicySet* raw = set.get();
  local.sets.emplace(set->fingerprint(), std::move(set));
  return PolicyHandle(raw);
}

inline const CompiledPolicySet* CompiledPolicyCache::FrontCacheHit(ThreadCache& local,
                                                                   absl::string_view fingerprint) {
  auto it = local.sets.find(fingerprint);
  if (it == local.sets.end()) return nullptr;
  local.hits->store(local.hits->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return it->second.get();
}

PolicyHandle CompiledPolicyCache::Lookup(absl::string_view fingerprint) {
  ThreadCache& local = Local();
  if (const CompiledPolicySet* hit = FrontCacheHit(local, fingerprint)) return PolicyHandle(hit);
  auto found = Find(fingerprint);
  return found ? Remember(local, std::move(found)) : PolicyHandle();
}

absl::StatusOr<PolicyHandle> CompiledPolicyCache::LookupOrCompile(const v1::PolicySet& set) {
  const std::string fingerprint = PolicySetFingerprint(set);  // Computed once per call.
  ThreadCache& local = Local();
  if (const CompiledPolicySet* hit = FrontCacheHit(local, fingerprint)) return PolicyHandle(hit);
  BG_ASSIGN_OR_RETURN(auto compiled, GetOrCompile(set, fingerprint));
  return Remember(local, std::move(compiled));
}

CompiledPolicyCache::Shard& CompiledPolicyCache::ShardFor(absl::string_view fingerprint) {
  return shards_[absl::Hash<absl::string_view>()(fingerprint) % kShards];
}

std::shared_ptr<const CompiledPolicySet> CompiledPolicyCache::Find(absl::string_view fingerprint) {
  Shard& shard = ShardFor(fingerprint);
  {
    std::shared_lock<std::shared_mutex> lock(shard.mu);
    auto it = shard.map.find(fingerprint);
    if (it != shard.map.end()) {
      // Write the bit only when it changes, so hot entries stay read-shared.
      if (!it->second->referenced.load(std::memory_order_relaxed)) {
        it->second->referenced.store(true, std::memory_order_relaxed);
      }
      shard.hits.fetch_add(1, std::memory_order_relaxed);
      return it->second->compiled;
    }
  }
  shard.misses.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompiledPolicyCache::GetOrCompile(
    const v1::PolicySet& set, const std::string& fingerprint) {
  if (auto hit = Find(fingerprint)) return hit;
  // Compile outside any lock; a concurrent miss on the same set may compile
  // it too, and the first insert wins.
  BG_ASSIGN_OR_RETURN(auto compiled, CompiledPolicySet::CompileFingerprinted(set, fingerprint));
  Shard& shard = ShardFor(fingerprint);
  std::lock_guard<std::shared_mutex> lock(shard.mu);
  auto it = shard.map.find(fingerprint);
  if (it != shard.map.end()) return it->second->compiled;
  InsertLocked(shard, compiled);
  return compiled;
}

void CompiledPolicyCache::InsertLocked(Shard& shard,
                                       std::shared_ptr<const CompiledPolicySet> compiled) {
  auto entry = std::make_unique<Entry>();
  entry->bytes = compiled->approximate_bytes();
  entry->compiled = std::move(compiled);
  const std::string key = entry->compiled->fingerprint();
  shard.bytes += entry->bytes;
  shard.map.emplace(key, std::move(entry));
  shard.clock.push_back(key);
  // Second chance: a referenced entry is spared once and moves to the back.
  std::size_t spared = 0;
  while ((shard.map.size() > max_entries_per_shard_ || shard.bytes > max_bytes_per_shard_) &&
         shard.map.size() > 1) {
    std::string victim = std::move(shard.clock.front());
    shard.clock.pop_front();
    auto it = shard.map.find(victim);
    if (it == shard.map.end()) continue;
    if (victim != key && it->second->referenced.exchange(false) && spared < shard.map.size()) {
      ++spared;
      shard.clock.push_back(std::move(victim));
      continue;
    }
    if (victim == key) {  // Never evict what was just inserted.
      shard.clock.push_back(std::move(victim));
      if (++spared > shard.map.size()) break;
      continue;
    }
    shard.bytes -= it->second->bytes;
    shard.map.erase(it);
    shard.evictions.fetch_add(1, std::memory_order_relaxed);
  }
}

CompiledPolicyCache::Stats CompiledPolicyCache::stats() const {
  Stats s;
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    for (const auto& h : thread_hits_) s.hits += h->load(std::memory_order_relaxed);
  }
  for (const Shard& shard : shards_) {
    s.hits += shard.hits.load(std::memory_order_relaxed);
    s.misses += shard.misses.load(std::memory_order_relaxed);
    s.evictions += shard.evictions.load(std::memory_order_relaxed);
    std::shared_lock<std::shared_mutex> lock(shard.mu);
    s.entries += shard.map.size();
    s.bytes += shard.bytes;
  }
  return s;
}

}  // namespace buildgate
