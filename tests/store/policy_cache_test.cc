#include "store/policy_cache.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

v1::PolicySet Set(int i) {
  v1::PolicySet s;
  s.set_org_id("org");
  s.mutable_policy()->set_revision(absl::StrCat("r", i));
  s.mutable_policy()->set_root(v1::ROOT_FORBIDDEN);
  s.mutable_policy()->set_privileged(v1::PRIVILEGED_ALLOWED);
  return s;
}

// Proves compile-once: the second request for the same content is a hit
// returning the same compiled object.
TEST(CompiledPolicyCache, CompilesOnce) {
  CompiledPolicyCache cache({100, 1 << 30});
  auto a = cache.LookupOrCompile(Set(1));
  auto b = cache.LookupOrCompile(Set(1));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(cache.Find((*a)->fingerprint()).get(), a->get());
  EXPECT_EQ(cache.Find("0000"), nullptr);
  const auto s = cache.stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 2u);
}

// Proves invalid inline policies are errors and are not cached.
TEST(CompiledPolicyCache, InvalidPolicyNotCached) {
  CompiledPolicyCache cache({100, 1 << 30});
  v1::PolicySet bad = Set(1);
  bad.mutable_policy()->clear_root();
  auto r = cache.LookupOrCompile(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "policy.root"));
  EXPECT_EQ(cache.stats().entries, 0u);
}

// Proves the entry bound holds and evictions are counted.
TEST(CompiledPolicyCache, BoundedByEntries) {
  CompiledPolicyCache cache({32, std::size_t{1} << 40});
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(cache.LookupOrCompile(Set(i)).ok());
  const auto s = cache.stats();
  EXPECT_LE(s.entries, 32u);
  EXPECT_GE(s.evictions, 500u - 32u);
}

// A set whose effective policy differs (non-root UID), so it has tables of its own.
v1::PolicySet DistinctSet(int i) {
  v1::PolicySet s = Set(i);
  s.mutable_policy()->set_non_root_uid(5000 + i);
  return s;
}

// Proves the byte bound holds.
TEST(CompiledPolicyCache, BoundedByBytes) {
  auto one = CompiledPolicySet::Compile(DistinctSet(-1));
  ASSERT_TRUE(one.ok());
  const std::size_t per_set = (*one)->approximate_bytes();
  ASSERT_GT(per_set, 1000u);
  CompiledPolicyCache cache({1000000, per_set * 16 * 2});  // About 2 per shard.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(cache.LookupOrCompile(DistinctSet(i)).ok());
  EXPECT_LE(cache.stats().bytes, per_set * 16 * 2);
  EXPECT_GT(cache.stats().evictions, 0u);
}

// Proves a recently used entry survives eviction pressure (second chance).
TEST(CompiledPolicyCache, ReferencedEntriesSurvive) {
  CompiledPolicyCache cache({16 * 4, std::size_t{1} << 40});
  auto hot = cache.LookupOrCompile(Set(-1));
  ASSERT_TRUE(hot.ok());
  const std::string fp = (*hot)->fingerprint();
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(cache.LookupOrCompile(Set(i)).ok());
    ASSERT_NE(cache.Find(fp), nullptr) << "hot entry evicted after " << i << " inserts";
  }
}

// Proves a handle stays valid while the thread's front cache is emptied and
// the shards evict its set (ASan would see a use after free), and that what
// was kept for it goes with the last handle.
TEST(CompiledPolicyCache, HandleOutlivesFrontCacheAndEviction) {
  CompiledPolicyCache cache({16, std::size_t{1} << 40});  // One entry per shard.
  auto held = cache.LookupOrCompile(Set(-1));
  ASSERT_TRUE(held.ok());
  const std::string fingerprint = (*held)->fingerprint();
  for (int i = 0; i < 3 * static_cast<int>(CompiledPolicyCache::kThreadCacheEntries); ++i) {
    ASSERT_TRUE(cache.LookupOrCompile(Set(i)).ok());
  }
  EXPECT_EQ(cache.Find(fingerprint), nullptr) << "the set should have been evicted from the shards";
  EXPECT_EQ((*held)->revision(), "r-1");
  EXPECT_GT(OwnersKeptForHandles(), 0u);
  *held = PolicyHandle();
  EXPECT_EQ(OwnersKeptForHandles(), 0u);
  EXPECT_FALSE(cache.Lookup(fingerprint));
}

// Proves concurrent readers and writers see consistent results.
TEST(CompiledPolicyCache, Concurrent) {
  CompiledPolicyCache cache({64, std::size_t{1} << 40});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto r = cache.LookupOrCompile(Set((i * 7 + t) % 100));
        if (!r.ok() || (*r)->revision() != absl::StrCat("r", (i * 7 + t) % 100)) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(cache.stats().entries, 64u);
}

}  // namespace
}  // namespace buildgate
