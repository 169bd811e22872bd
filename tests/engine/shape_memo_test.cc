// The shape memo (engine/internal/shape_memo.h): a repeated step shape is a lookup,
// and a memoized decision is the fresh one byte for byte, whatever strings
// the step carries.
#include "engine/internal/shape_memo.h"
#include "engine/shape_memo_bypass.h"

#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/compiled_policy.h"
#include "engine/internal/compiled_tables.h"
#include "engine/decide.h"
#include "gtest/gtest.h"
#include "tests/testing/corpus.h"
#include "tests/testing/yaml_messages.h"

namespace buildgate {
namespace {

using testing::Compile;
using testing::Step;

int MemoSize(const CompiledPolicySet& set, const v1::BuildStep& step) {
  return set.ScopeFor(step.project_id(), step.pipeline_id()).tables->memo.Size();
}

// A non-root UID no other test's policy has, so these tables are not shared
// with (or warmed by) another live set.
constexpr char kPolicy[] = R"(
org_id: acme-platform-engineering
policy:
  revision: shape-memo-test
  root: ROOT_FORBIDDEN
  privileged: PRIVILEGED_ALLOWED
  non_root_uid: 41234
  registry_allowlist: ["docker.io/acme-platform-engineering/**", "*.dkr.ecr.eu-west-1.amazonaws.com/**"]
  credentials: CREDENTIALS_PASSWORD_EXPRESSION
  plugin_mirrors: [registry.example.com/mirror/plugins]
overrides:
  - project_id: payments_settlement_reconciliation_service
    policy: {privileged: PRIVILEGED_FORBIDDEN, pod_security: PSS_RESTRICTED}
)";

// Two Plugin steps with the same shape and nothing else in common.
constexpr char kFirst[] = R"(
stage_id: build_and_publish_container_images_for_release
step_id: buildah_push_web_frontend_multi_arch_image
kind: STEP_KIND_PLUGIN
image: plugins/buildah-docker:1.1.0-linux-amd64
repo: acme-platform-engineering/web-frontend
tags: [v2.14.3, <+pipeline.sequenceId>]
credentials: {username: acme-ci-robot, password: <+secrets.getValue("docker_hub_token")>}
)";
constexpr char kSecond[] = R"(
stage_id: Ünïcødé_stage_for_the_payments_team_release_train
step_id: buildah_push_ledger_reconciliation_worker_image
kind: STEP_KIND_PLUGIN
image: registry.example.com/mirror/plugins/buildah-docker:1.1.0-linux-amd64
repo: acme-platform-engineering/ledger-reconciliation-worker
tags: [<+codebase.commitSha>]
dockerfile: services/ledger/Dockerfile.production
context: services/ledger
credentials: {username: <+pipeline.variables.hub_user>, password: <+secrets.getValue("org.hub")>}
)";

// Proves steps that differ only in their own strings share one memoized
// shape, and each still gets its own strings, exactly as a fresh decision.
TEST(ShapeMemo, StepsDifferingOnlyInStringsShareOneShape) {
  auto set = Compile(kPolicy);
  const v1::BuildStep first = Step(kFirst), second = Step(kSecond);
  EXPECT_EQ(MemoSize(*set, first), 0);
  v1::Decision a, b;
  ASSERT_TRUE(Decide(*set, first, &a).ok());
  EXPECT_EQ(MemoSize(*set, first), 1);
  ASSERT_TRUE(Decide(*set, second, &b).ok());
  EXPECT_EQ(MemoSize(*set, second), 1) << "same shape, so no second entry";
  EXPECT_EQ(testing::MemoMismatch(*set, second), "");
  EXPECT_EQ(a.builder(), b.builder());
  EXPECT_NE(a.image(), b.image());
  EXPECT_EQ(b.image(), second.image());
  bool saw_repo = false;
  for (const v1::Setting& s : b.settings()) {
    if (s.name() == "repo") {
      EXPECT_EQ(s.value(), second.repo());
      saw_repo = true;
    }
  }
  EXPECT_TRUE(saw_repo) << b.DebugString();
  EXPECT_NE(b.step_yaml().find("buildah_push_ledger_reconciliation_worker_image"), std::string::npos)
      << b.step_yaml();
}

// Proves a deny's remediation search is memoized with its shape and that
// a memoized deny equals the fresh one in both views.
TEST(ShapeMemo, DenyWithRemediationsIsMemoized) {
  auto set = Compile(kPolicy);
  const v1::BuildStep deny = Step(R"(
project_id: payments_settlement_reconciliation_service
pipeline_id: nightly_release_candidate_build_and_sign
kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY
repo: acme-platform-engineering/settlement
tags: [<+pipeline.sequenceId>]
)");
  v1::Decision d;
  ASSERT_TRUE(Decide(*set, deny, &d).ok());
  ASSERT_EQ(d.verdict(), v1::VERDICT_DENY) << d.DebugString();
  ASSERT_GT(d.remediations_size(), 0);
  EXPECT_EQ(MemoSize(*set, deny), 1);
  EXPECT_EQ(testing::MemoMismatch(*set, deny), "");
  // Another shape in the same scope (arm64) is its own entry.
  v1::BuildStep arm = deny;
  arm.set_arch(v1::ARCH_ARM64);
  EXPECT_EQ(testing::MemoMismatch(*set, arm), "");
  EXPECT_EQ(MemoSize(*set, deny), 2);
}

// Proves the step checks that read strings still run on a memoized shape:
// the same shape pushing outside the allowlist, or with a plaintext
// password, is denied although the memoized shape allows.
TEST(ShapeMemo, StringChecksRunOnEveryCall) {
  auto set = Compile(kPolicy);
  const v1::BuildStep ok = Step(kFirst);
  v1::Decision d;
  ASSERT_TRUE(Decide(*set, ok, &d).ok());
  ASSERT_NE(d.verdict(), v1::VERDICT_DENY) << d.DebugString();
  v1::BuildStep elsewhere = ok;
  elsewhere.set_repo("someone-else/web-frontend");
  ASSERT_TRUE(Decide(*set, elsewhere, &d).ok());
  EXPECT_EQ(d.verdict(), v1::VERDICT_DENY);
  EXPECT_EQ(d.reasons(0).code(), v1::REGISTRY_NOT_ALLOWED);
  v1::BuildStep plaintext = ok;
  plaintext.mutable_credentials()->set_password("hunter2-but-much-longer-than-that-1234567890");
  ASSERT_TRUE(Decide(*set, plaintext, &d).ok());
  EXPECT_EQ(d.verdict(), v1::VERDICT_DENY);
  EXPECT_EQ(MemoSize(*set, ok), 1);
  EXPECT_EQ(testing::MemoMismatch(*set, elsewhere), "");
  EXPECT_EQ(testing::MemoMismatch(*set, plaintext), "");
}

// Proves every shape has its own slot inside the memo's bound.
TEST(ShapeMemo, EveryShapeHasItsOwnSlot) {
  std::set<int> seen;
  for (int d = 0; d < v1::Destination_ARRAYSIZE; ++d) {
    for (int a = 0; a < v1::Arch_ARRAYSIZE; ++a) {
      for (bool simple : {false, true}) {
        const int index = CompiledBuilder::Index(static_cast<v1::Destination>(d),
                                                 static_cast<v1::Arch>(a), simple);
        for (int b = 0; b < v1::Builder_ARRAYSIZE; ++b) {
          for (bool caching : {false, true}) {
            for (bool dry_run : {false, true}) {
              const int slot = ShapeMemo::Slot(index, static_cast<v1::Builder>(b), caching, dry_run);
              EXPECT_GE(slot, 0);
              EXPECT_LT(slot, ShapeMemo::kSlots);
              EXPECT_TRUE(seen.insert(slot).second) << "slot " << slot << " twice";
            }
          }
        }
      }
    }
  }
}

// Proves the memo stops at kMaxBytes: a shape that does not fit is refused
// (and left to its caller), counted bytes never pass the bound, and the
// shapes already kept stay.
TEST(ShapeMemo, StopsAtItsByteBound) {
  ShapeMemo memo;
  v1::RejectedBuilder big;
  big.set_builder(v1::BUILDER_KANIKO);
  big.add_reasons()->set_message(std::string(2000, 'x'));
  int kept = 0, refused = 0;
  for (int slot = 0; slot < ShapeMemo::kSlots; ++slot) {
    auto outcome = std::make_unique<ShapeOutcome>();
    for (int i = 0; i < 4; ++i) outcome->rejected_builders.push_back(big);
    const ShapeOutcome* raw = outcome.get();
    const ShapeOutcome* published = memo.Publish(slot, &outcome);
    if (published == nullptr) {
      ++refused;
      EXPECT_EQ(outcome.get(), raw) << "a refused outcome stays with its caller";
      EXPECT_EQ(memo.Find(slot), nullptr);
    } else {
      ++kept;
      EXPECT_EQ(published, raw);
      EXPECT_EQ(memo.Find(slot), raw);
    }
    EXPECT_LE(memo.Bytes(), ShapeMemo::kMaxBytes);
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(refused, ShapeMemo::kSlots / 2);
  EXPECT_EQ(memo.Size(), kept);
}

// Proves a decision whose shape no longer fits the memo is still the fresh
// decision (every corpus-like shape of a scope whose memo is full).
TEST(ShapeMemo, DecisionsStayRightWhenTheMemoIsFull) {
  auto set = Compile(kPolicy);
  const v1::BuildStep probe = Step(kFirst);
  const ShapeMemo& memo = set->ScopeFor("", "").tables->memo;
  // Fill it to the last byte with outcomes in slots the steps below do not
  // use (from the top: Build and Push shapes sit low), large ones first.
  v1::RejectedBuilder big;
  big.add_reasons()->set_message(std::string(4000, 'x'));
  int slot = ShapeMemo::kSlots - 1;
  for (bool large : {true, false}) {
    for (;; --slot) {
      auto filler = std::make_unique<ShapeOutcome>();
      if (large) filler->rejected_builders.push_back(big);
      if (memo.Publish(slot, &filler) == nullptr) break;
    }
  }
  ASSERT_GT(slot, ShapeMemo::kSlots / 2);
  const int before = memo.Size();
  for (const char* yaml : {kFirst, kSecond,
                           "kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: acme-platform-engineering/a\ncaching: true\n",
                           "kind: STEP_KIND_BUILD_AND_PUSH_ECR\nregistry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\nrepo: acme/c\narch: ARCH_ARM64\ndry_run: true\n"}) {
    EXPECT_EQ(testing::MemoMismatch(*set, Step(yaml)), "") << yaml;
  }
  EXPECT_LE(memo.Bytes(), ShapeMemo::kMaxBytes);
  EXPECT_EQ(memo.Size(), before) << "nothing fits any more; every decision above was fresh";
}

// Proves what a cache charges for a set covers its memo at the bound: the
// tables' size is what the compile holds plus ShapeMemo::kMaxBytes, so a
// byte-bounded cache of many distinct policies cannot outgrow its budget
// through the memos its sets fill.
TEST(ShapeMemo, TheSetsSizeReservesTheMemo) {
  auto set = Compile(kPolicy);
  const ScopeTables& tables = *set->ScopeFor("", "").tables;
  EXPECT_EQ(tables.approximate_bytes, CompiledTablesBytes(tables) + ShapeMemo::kMaxBytes);
  EXPECT_GE(set->approximate_bytes(), tables.approximate_bytes);
  // Filled to its bound, the memo stays within the room reserved for it.
  v1::RejectedBuilder big;
  big.add_reasons()->set_message(std::string(2000, 'x'));
  for (int slot = 0; slot < ShapeMemo::kSlots; ++slot) {
    auto filler = std::make_unique<ShapeOutcome>();
    filler->rejected_builders.push_back(big);
    if (tables.memo.Publish(slot, &filler) == nullptr) break;
  }
  EXPECT_GT(tables.memo.Bytes(), ShapeMemo::kMaxBytes - 4096);
  EXPECT_LE(tables.memo.Bytes(), tables.approximate_bytes - CompiledTablesBytes(tables));
}

// Proves threads racing to fill the same shapes all get the fresh decision
// (run under TSan in the test command).
TEST(ShapeMemo, ConcurrentFillsAgreeWithFreshDecisions) {
  auto set = Compile(kPolicy);
  std::vector<v1::BuildStep> steps;
  for (const char* kind : {"STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY", "STEP_KIND_BUILD_AND_PUSH_ECR"}) {
    for (const char* project : {"", "payments_settlement_reconciliation_service"}) {
      for (const char* extra : {"", "caching: true\n", "arch: ARCH_ARM64\n", "dry_run: true\n"}) {
        steps.push_back(Step(absl::StrCat(
            "kind: ", kind, "\nproject_id: '", project, "'\n",
            "registry: ", std::string(kind).find("ECR") != std::string::npos
                              ? "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
                              : "docker.io",
            "\nrepo: acme-platform-engineering/service-", steps.size(), "\n", extra)));
      }
    }
  }
  std::vector<std::string> fresh;
  {
    ShapeMemoBypass bypass;
    for (const auto& step : steps) {
      v1::Decision d;
      ASSERT_TRUE(Decide(*set, step, &d).ok()) << step.DebugString();
      fresh.push_back(d.SerializeAsString());
    }
  }
  EXPECT_EQ(MemoSize(*set, steps[0]), 0) << "a bypass fills nothing";
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      v1::Decision d;
      for (int round = 0; round < 20; ++round) {
        for (std::size_t i = 0; i < steps.size(); ++i) {
          const std::size_t k = (i + t * 3) % steps.size();
          if (!Decide(*set, steps[k], &d).ok() || d.SerializeAsString() != fresh[k]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
  EXPECT_EQ(MemoSize(*set, steps[0]), 8) << "org scope: 2 kinds x 4 shapes";
}

}  // namespace
}  // namespace buildgate

namespace buildgate {
namespace {

// Proves BuilderAdmissible answers, for every corpus-like step and builder,
// exactly what Decide's FULL answer says: the chosen builder is admissible,
// a rejected one is not.
TEST(BuilderAdmissible, AgreesWithTheFullDecision) {
  auto set = Compile(kPolicy);
  int checked = 0;
  for (const char* yaml : {kFirst, kSecond,
                           "kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: acme-platform-engineering/a\ncaching: true\n",
                           "project_id: payments_settlement_reconciliation_service\nkind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: acme-platform-engineering/b\n",
                           "kind: STEP_KIND_BUILD_AND_PUSH_ECR\nregistry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\nrepo: acme/c\narch: ARCH_ARM64\ndry_run: true\n"}) {
    const v1::BuildStep step = Step(yaml);
    v1::Decision d;
    ASSERT_TRUE(Decide(*set, step, &d).ok());
    std::set<int> rejected;
    for (const auto& rb : d.rejected_builders()) rejected.insert(rb.builder());
    for (const auto& spec : set->catalog().builders()) {
      const absl::StatusOr<bool> admits = BuilderAdmissible(*set, step, spec.builder());
      ASSERT_TRUE(admits.ok()) << admits.status();
      EXPECT_EQ(*admits, rejected.count(spec.builder()) == 0)
          << v1::Builder_Name(spec.builder()) << "\n" << yaml << d.DebugString();
      if (d.verdict() != v1::VERDICT_DENY && spec.builder() == d.builder()) {
        EXPECT_TRUE(*admits);
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 20);
  EXPECT_EQ(BuilderAdmissible(*set, Step(kFirst), v1::BUILDER_UNSPECIFIED).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BuilderAdmissible(*set, Step("repo: a/b\n"), v1::BUILDER_KANIKO).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace buildgate
