#include "engine/compiled_policy.h"

#include <openssl/evp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/internal/compiled_tables.h"
#include "engine/internal/intern_pool.h"
#include "input/proto_text.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

v1::PolicySet Set(absl::string_view revision, int64_t non_root_uid = 1000) {
  v1::PolicySet s;
  s.set_org_id("acme-platform-engineering-organisation-0001");
  v1::Policy* p = s.mutable_policy();
  p->set_revision(std::string(revision));
  p->set_root(v1::ROOT_FORBIDDEN);
  p->set_privileged(v1::PRIVILEGED_FORBIDDEN);
  p->set_non_root_uid(non_root_uid);
  return s;
}

// Proves sets that differ only in revision share their compiled tables, so a
// stored or cached set costs little beyond its own source, and a set with
// another effective policy gets its own.
TEST(CompiledPolicySet, SetsShareTablesByEffectivePolicy) {
  auto a = CompiledPolicySet::Compile(Set("9f2c1e7a0b3d4c5e6f708192a3b4c5d6e7f80912"));
  auto b = CompiledPolicySet::Compile(Set("release-2026.11.28-hotfix-3"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->org_scope().tables, (*b)->org_scope().tables);
  EXPECT_EQ((*a)->revision(), "9f2c1e7a0b3d4c5e6f708192a3b4c5d6e7f80912");
  EXPECT_EQ((*b)->revision(), "release-2026.11.28-hotfix-3");
  EXPECT_NE((*a)->fingerprint(), (*b)->fingerprint());
  EXPECT_LT((*b)->approximate_bytes(), 4096u);
  auto c = CompiledPolicySet::Compile(Set("r", 4242));
  ASSERT_TRUE(c.ok());
  EXPECT_NE((*a)->org_scope().tables, (*c)->org_scope().tables);
}

// Proves the fingerprint is the hex SHA-256 of the set's deterministic
// serialization: a known answer (an empty set serializes to no bytes) and,
// for a real set, the digest OpenSSL's EVP interface computes independently.
TEST(PolicySetFingerprint, IsSha256OfTheDeterministicSerialization) {
  EXPECT_EQ(PolicySetFingerprint(v1::PolicySet()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  for (const v1::PolicySet& set : {Set("9f2c1e7a0b3d4c5e6f708192a3b4c5d6e7f80912"),
                                   Set("release-2026.11.28-hotfix-3", 4242)}) {
    const std::string bytes = DeterministicSerialization(set);
    ASSERT_GT(bytes.size(), 40u);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ASSERT_EQ(EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr), 1);
    EXPECT_EQ(PolicySetFingerprint(set),
              absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), len)));
  }
}

// Proves the scope lookup: pipeline override, then project, then org, and
// scope names as reported to callers.
TEST(CompiledPolicySet, ScopesFromMostSpecific) {
  v1::PolicySet set = Set("r1");
  v1::ScopeOverride* project = set.add_overrides();
  project->set_project_id("payments-service-platform-team-project-0042");
  project->mutable_policy()->set_pod_security(v1::PSS_BASELINE);
  v1::ScopeOverride* pipeline = set.add_overrides();
  pipeline->set_project_id("payments-service-platform-team-project-0042");
  pipeline->set_pipeline_id("build_and_push_payments_api_to_ecr_nightly");
  pipeline->mutable_policy()->set_pod_security(v1::PSS_RESTRICTED);
  auto compiled = CompiledPolicySet::Compile(set);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  const CompiledPolicySet& s = **compiled;
  EXPECT_EQ(s.EffectivePolicy("", "").pod_security(), v1::PSS_UNSPECIFIED);
  EXPECT_EQ(
      s.EffectivePolicy("payments-service-platform-team-project-0042", "other").pod_security(),
      v1::PSS_BASELINE);
  EXPECT_EQ(s.EffectivePolicy("payments-service-platform-team-project-0042",
                              "build_and_push_payments_api_to_ecr_nightly")
                .pod_security(),
            v1::PSS_RESTRICTED);
  EXPECT_EQ(s.EffectivePolicy("unknown-project", "build_and_push_payments_api_to_ecr_nightly")
                .pod_security(),
            v1::PSS_UNSPECIFIED);
  EXPECT_EQ(s.ScopeNames(), (std::vector<std::string>{
                                "org", "project:payments-service-platform-team-project-0042",
                                "project:payments-service-platform-team-project-0042/pipeline:"
                                "build_and_push_payments_api_to_ecr_nightly"}));
}

// Proves compile errors name the field, including in overrides.
TEST(CompiledPolicySet, ErrorsNameTheField) {
  v1::PolicySet set = Set("r1");
  set.add_overrides()->set_project_id("a/b");
  auto compiled = CompiledPolicySet::Compile(set);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(compiled.status().message(), "overrides[0]: ")) << compiled.status();
  set = Set("r1");
  set.clear_org_id();
  EXPECT_EQ(CompiledPolicySet::Compile(set).status().message(), "org_id: required");
}

// Proves ids with control characters are refused and never echoed (issue
// 21: an org_id holding ESC or BEL was accepted and printed raw by
// validate, list and get, where a terminal obeys it): C0, DEL and C1
// (U+009B, a one-byte CSI) in the org and in override project and pipeline
// ids; spaces too, as for a step's ids.
TEST(CompiledPolicySet, IdsWithControlCharactersAreRefused) {
  for (const std::string& bad : {std::string("acme\x1b[2J"), std::string("acme\x07"),
                                std::string("acme\x7f"), std::string("acme\xc2\x9b" "31m"),
                                std::string("acme corp")}) {
    SCOPED_TRACE(absl::CEscape(bad));
    v1::PolicySet set = Set("r1");
    set.set_org_id(bad);
    auto org = CompiledPolicySet::Compile(set);
    ASSERT_FALSE(org.ok());
    EXPECT_TRUE(absl::StartsWith(org.status().message(), "org_id: ")) << org.status();
    EXPECT_FALSE(absl::StrContains(org.status().message(), bad)) << "the id is echoed";

    set = Set("r1");
    set.add_overrides()->set_project_id(bad);
    auto project = CompiledPolicySet::Compile(set);
    ASSERT_FALSE(project.ok());
    EXPECT_TRUE(absl::StartsWith(project.status().message(), "overrides[0].project_id: "))
        << project.status();

    set = Set("r1");
    v1::ScopeOverride* o = set.add_overrides();
    o->set_project_id("web");
    o->set_pipeline_id(bad);
    auto pipeline = CompiledPolicySet::Compile(set);
    ASSERT_FALSE(pipeline.ok());
    EXPECT_TRUE(absl::StartsWith(pipeline.status().message(), "overrides[0].pipeline_id: "))
        << pipeline.status();
  }
  // Unicode letters are ids like any other.
  v1::PolicySet set = Set("r1");
  set.set_org_id("acme-\xc3\xbc");  // "acme-ü"
  EXPECT_TRUE(CompiledPolicySet::Compile(set).ok());
}

// Proves the intern pool builds outside its lock: a build may itself use
// the pool (or wait for another thread's build) without deadlocking, and the
// value every caller gets is one shared value.
TEST(InternPool, BuildsOutsideTheLock) {
  InternPool<std::string> pool;
  std::mutex mu;
  std::condition_variable cv;
  bool first_building = false;
  std::shared_ptr<const std::string> slow;  // Holds the value: the pool keeps weak references.
  std::thread first([&] {
    auto r = pool.GetOrBuild("slow", [&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        first_building = true;
      }
      cv.notify_all();
      // While this build runs, another thread uses the pool.
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !first_building; });
      return std::make_shared<const std::string>("slow value");
    });
    EXPECT_TRUE(r.built);
    slow = r.value;
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return first_building; });
  }
  // With the build running under the pool's lock this would block forever.
  auto other = pool.GetOrBuild("fast", [] { return std::make_shared<const std::string>("fast"); });
  EXPECT_TRUE(other.built);
  EXPECT_EQ(*other.value, "fast");
  {
    std::lock_guard<std::mutex> lock(mu);
    first_building = false;
  }
  cv.notify_all();
  first.join();
  auto again =
      pool.GetOrBuild("slow", [] { return std::make_shared<const std::string>("rebuilt"); });
  EXPECT_FALSE(again.built);
  EXPECT_EQ(*again.value, "slow value");
  EXPECT_EQ(pool.Live(), 2u);
}

// Proves racing builds of one key end with every caller holding the same
// value, exactly one of them reported as built.
TEST(InternPool, RacingBuildsShareOneValue) {
  InternPool<int> pool;
  constexpr int kThreads = 8;
  std::vector<std::shared_ptr<const int>> got(kThreads);
  std::atomic<int> built{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto r = pool.GetOrBuild("key", [t] { return std::make_shared<const int>(t); });
      built += r.built ? 1 : 0;
      got[t] = r.value;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(built.load(), 1);
  for (const auto& v : got) EXPECT_EQ(v.get(), got[0].get());
}

// Proves compiles on several threads agree with a compile on one: same
// fingerprints, same shared tables for the same effective policy.
TEST(CompiledPolicySet, ParallelCompilesShareTables) {
  constexpr int kThreads = 4;
  constexpr int kSets = 40;
  std::vector<std::vector<std::shared_ptr<const CompiledPolicySet>>> out(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSets; ++i) {
        auto c = CompiledPolicySet::Compile(Set(absl::StrCat("rev-", t), 20000 + i));
        ASSERT_TRUE(c.ok());
        out[t].push_back(*c);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kSets; ++i) {
    for (int t = 1; t < kThreads; ++t) {
      EXPECT_EQ(out[t][i]->org_scope().tables, out[0][i]->org_scope().tables) << i;
    }
  }
}

}  // namespace
}  // namespace buildgate
