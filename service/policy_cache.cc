#include "service/policy_cache.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace buildgate {

CompiledPolicyCache::CompiledPolicyCache(Options options)
    : max_entries_per_shard_(std::max<std::size_t>(1, options.max_entries / kShards)),
      max_bytes_per_shard_(std::max<std::size_t>(1, options.max_bytes / kShards)) {}

CompiledPolicyCache::Shard& CompiledPolicyCache::ShardFor(absl::string_view fingerprint) {
  return shards_[absl::Hash<absl::string_view>()(fingerprint) % kShards];
}

std::shared_ptr<const CompiledPolicySet> CompiledPolicyCache::Find(absl::string_view fingerprint) {
  Shard& shard = ShardFor(fingerprint);
  {
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.map.find(fingerprint);
    if (it != shard.map.end()) {
      it->second->referenced.store(true, std::memory_order_relaxed);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second->compiled;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompiledPolicyCache::GetOrCompile(
    const v1::PolicySet& set) {
  const std::string fingerprint = PolicySetFingerprint(set);
  if (auto hit = Find(fingerprint)) return hit;
  // Compile outside any lock; a concurrent miss on the same set may compile
  // it too, and the first insert wins.
  auto compiled = CompiledPolicySet::Compile(set);
  if (!compiled.ok()) return compiled.status();
  Shard& shard = ShardFor(fingerprint);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(fingerprint);
  if (it != shard.map.end()) return it->second->compiled;
  InsertLocked(shard, *compiled);
  return *std::move(compiled);
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
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

CompiledPolicyCache::Stats CompiledPolicyCache::stats() const {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  for (const Shard& shard : shards_) {
    absl::ReaderMutexLock lock(&shard.mu);
    s.entries += shard.map.size();
    s.bytes += shard.bytes;
  }
  return s;
}

}  // namespace buildgate
