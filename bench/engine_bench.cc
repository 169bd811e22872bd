// Engine microbenchmarks (Google Benchmark). Reports numbers; asserts nothing.
//
//   BM_Decide*            decide on a warm compiled policy (allow, allow with
//                         changes, deny with remediation search)
//   BM_Compile*           compile a policy set (new tables / shared tables)
//   BM_CacheLookup        inline-policy cache hit, 1 and 2 threads
//   BM_DecideAcrossSets   decide while cycling through 1, 1k, 100k cached sets
//   BM_DecisionLogLine    format one decision log line (service/decision_log.h)
//                         for an allow with real-length ids
//
// Every benchmark reports allocs_per_op (heap allocations per iteration,
// counted by the operator new below).
//
//   build/bench/engine_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <new>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/compiled_policy.h"
#include "engine/decide.h"
#include "buildgate/v1/service.pb.h"
#include "input/limits.h"
#include "input/proto_text.h"
#include "engine/shape_memo_bypass.h"
#include "service/decision_log.h"
#include "store/policy_cache.h"

// Counts heap allocations per thread.
namespace {
thread_local uint64_t g_allocations = 0;
}  // namespace
// Neither side is inlined: GCC 12 otherwise pairs a malloc() or free() it
// sees through one side with the other operator at each call site and warns
// (-Wmismatched-new-delete), though the pair is matched.
[[gnu::noinline]] void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace buildgate {
namespace {

class AllocationCounter {
 public:
  explicit AllocationCounter(benchmark::State& state) : state_(state), start_(g_allocations) {}
  ~AllocationCounter() {
    state_.counters["allocs_per_op"] = benchmark::Counter(
        static_cast<double>(g_allocations - start_) / std::max<int64_t>(1, state_.iterations()));
  }

 private:
  benchmark::State& state_;
  uint64_t start_;
};

v1::PolicySet Policy(const char* yaml) {
  v1::PolicySet set;
  if (!ParseYamlToMessage(yaml, "bench", &set).ok()) std::abort();
  return set;
}

v1::BuildStep Step(const char* yaml) {
  v1::BuildStep step;
  if (!ParseYamlToMessage(yaml, "bench", &step).ok()) std::abort();
  return step;
}

constexpr char kPolicy[] = R"(
org_id: acme
policy:
  revision: bench
  root: ROOT_FORBIDDEN
  privileged: PRIVILEGED_ALLOWED
  registry_allowlist: [docker.io/acme/*, "*.dkr.ecr.us-east-1.amazonaws.com/**"]
  plugin_images: {forbid_latest: true}
  credentials: CREDENTIALS_PASSWORD_EXPRESSION
overrides:
  - project_id: payments
    policy: {privileged: PRIVILEGED_FORBIDDEN}
)";

constexpr char kAllowStep[] = R"(
kind: STEP_KIND_PLUGIN
image: plugins/buildah-docker:1.1.0-linux-amd64
repo: acme/web
tags: [v1]
credentials: {username: bot, password: <+secrets.getValue("hub")>}
privileged: true
run_as_user: 1000
)";

constexpr char kChangesStep[] = R"(
kind: STEP_KIND_BUILD_AND_PUSH_ECR
registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com
repo: acme/api
tags: [v1]
infrastructure: {containerSecurityContext: {runAsNonRoot: true, runAsUser: 1000}}
)";

constexpr char kDenyStep[] = R"(
project_id: payments
kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY
repo: acme/payments
)";

// Decides `step_yaml` over and over: after the first call its shape is
// memoized (engine/internal/shape_memo.h) unless `fresh`, which decides every call
// from scratch as before the memo.
void RunDecide(benchmark::State& state, const char* step_yaml,
               v1::DecisionView view = v1::DECISION_VIEW_FULL, bool fresh = false) {
  static auto compiled = *CompiledPolicySet::Compile(Policy(kPolicy));
  const v1::BuildStep step = Step(step_yaml);
  std::optional<ShapeMemoBypass> bypass;
  if (fresh) bypass.emplace();
  v1::Decision decision;
  (void)Decide(*compiled, step, &decision, view);  // Warm the reused message.
  AllocationCounter allocations(state);
  for (auto _ : state) {
    if (!Decide(*compiled, step, &decision, view).ok()) state.SkipWithError("decide failed");
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
}

// The request-limit check every Decide request passes on the server
// (input/limits.h), on a request of an inline policy and a typical step.
void BM_CheckRequestLimits(benchmark::State& state) {
  v1::DecideRequest request;
  *request.mutable_policy()->mutable_inline_policy() = Policy(kPolicy);
  *request.mutable_step() = Step(kChangesStep);
  const InputLimits limits;
  state.counters["request_bytes"] = static_cast<double>(request.ByteSizeLong());
  AllocationCounter allocations(state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(CheckMessageLimits(request, "", limits));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DecideAllow(benchmark::State& state) { RunDecide(state, kAllowStep); }
void BM_DecideAllowWithChanges(benchmark::State& state) { RunDecide(state, kChangesStep); }
void BM_DecideDenyWithRemediations(benchmark::State& state) { RunDecide(state, kDenyStep); }
// The same three in the BASIC view (no messages, remediations or YAML).
void BM_DecideAllowBasic(benchmark::State& state) {
  RunDecide(state, kAllowStep, v1::DECISION_VIEW_BASIC);
}
void BM_DecideAllowWithChangesBasic(benchmark::State& state) {
  RunDecide(state, kChangesStep, v1::DECISION_VIEW_BASIC);
}
void BM_DecideDenyBasic(benchmark::State& state) { RunDecide(state, kDenyStep, v1::DECISION_VIEW_BASIC); }
// Without the shape memo (every call computes the builder choice, the
// rejected builders and, for the deny, the remediation search).
void BM_DecideAllowFresh(benchmark::State& state) {
  RunDecide(state, kAllowStep, v1::DECISION_VIEW_FULL, true);
}
void BM_DecideDenyWithRemediationsFresh(benchmark::State& state) {
  RunDecide(state, kDenyStep, v1::DECISION_VIEW_FULL, true);
}

// Compiling a set whose tables nobody shares (a non-root UID no other set has).
void BM_CompileNewTables(benchmark::State& state) {
  v1::PolicySet set = Policy(kPolicy);
  int i = 0;
  AllocationCounter allocations(state);
  for (auto _ : state) {
    set.mutable_policy()->set_non_root_uid(20000 + (++i % 1000000));
    auto compiled = CompiledPolicySet::Compile(set);
    benchmark::DoNotOptimize(compiled);
  }
}

// Compiles of distinct sets on several threads at once (a store loading a
// directory, many inline policies): the intern pool builds outside its lock,
// so with real time, throughput should grow with threads up to the cores.
void BM_CompileNewTablesParallel(benchmark::State& state) {
  v1::PolicySet set = Policy(kPolicy);
  int i = 0;
  const int base = 2000000 + state.thread_index() * 1000000;
  for (auto _ : state) {
    set.mutable_policy()->set_non_root_uid(base + (++i % 1000000));
    auto compiled = CompiledPolicySet::Compile(set);
    benchmark::DoNotOptimize(compiled);
  }
  state.SetItemsProcessed(state.iterations());
}

// Compiling a set whose tables another live set already built.
void BM_CompileSharedTables(benchmark::State& state) {
  const v1::PolicySet set = Policy(kPolicy);
  auto keep = CompiledPolicySet::Compile(set);
  int i = 0;
  AllocationCounter allocations(state);
  for (auto _ : state) {
    state.PauseTiming();
    v1::PolicySet other = set;
    other.mutable_policy()->set_revision(absl::StrCat("r", ++i));
    state.ResumeTiming();
    auto compiled = CompiledPolicySet::Compile(other);
    benchmark::DoNotOptimize(compiled);
  }
}

CompiledPolicyCache& SharedCache(int entries) {
  static CompiledPolicyCache* cache = [entries] {
    auto* c = new CompiledPolicyCache({static_cast<std::size_t>(entries) * 2, std::size_t{1} << 34});
    v1::PolicySet set = Policy(kPolicy);
    for (int i = 0; i < entries; ++i) {
      set.mutable_policy()->set_revision(absl::StrCat("r", i));
      (void)c->LookupOrCompile(set);
    }
    return c;
  }();
  return *cache;
}

std::vector<std::string> BenchFingerprints() {
  std::vector<std::string> fingerprints;
  v1::PolicySet set = Policy(kPolicy);
  for (int i = 0; i < 1024; ++i) {
    set.mutable_policy()->set_revision(absl::StrCat("r", i));
    fingerprints.push_back(PolicySetFingerprint(set));
  }
  return fingerprints;
}

// The server's hot path for fingerprint requests: each thread cycles through
// 16 policies (its front cache), over a cache of 1024.
void BM_CacheLookup(benchmark::State& state) {
  CompiledPolicyCache& cache = SharedCache(1024);
  static const std::vector<std::string> fingerprints = BenchFingerprints();
  const std::size_t base = state.thread_index() * 16;
  std::size_t i = 0;
  for (int k = 0; k < 16; ++k) (void)cache.Lookup(fingerprints[base + k]);
  AllocationCounter allocations(state);
  for (auto _ : state) {
    const PolicyHandle hit = cache.Lookup(fingerprints[base + (i++ & 15)]);
    benchmark::DoNotOptimize(hit.get());
  }
  state.SetItemsProcessed(state.iterations());
}

// Lookups that miss the front cache and go to the shards (1024 policies).
void BM_CacheLookupShards(benchmark::State& state) {
  CompiledPolicyCache& cache = SharedCache(1024);
  static const std::vector<std::string> fingerprints = BenchFingerprints();
  std::size_t i = state.thread_index() * 7;
  AllocationCounter allocations(state);
  for (auto _ : state) {
    auto hit = cache.Find(fingerprints[i++ & 1023]);
    benchmark::DoNotOptimize(hit);
  }
  state.SetItemsProcessed(state.iterations());
}

// Decide while cycling through N distinct cached policy sets: the cost must
// not grow with N.
void BM_DecideAcrossSets(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  static std::map<int, std::vector<std::shared_ptr<const CompiledPolicySet>>> sets_by_n;
  auto& sets = sets_by_n[n];
  if (sets.empty()) {
    v1::PolicySet set = Policy(kPolicy);
    for (int i = 0; i < n; ++i) {
      set.set_org_id(absl::StrCat("org-", i));
      set.mutable_policy()->set_revision(absl::StrCat("r", i));
      sets.push_back(*CompiledPolicySet::Compile(set));
    }
  }
  const v1::BuildStep step = Step(kAllowStep);
  v1::Decision decision;
  std::size_t i = 0;
  AllocationCounter allocations(state);
  for (auto _ : state) {
    i = (i + 7919) % sets.size();  // A stride that visits every set.
    if (!Decide(*sets[i], step, &decision).ok()) state.SkipWithError("decide failed");
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["sets"] = n;
  state.counters["live_tables"] = static_cast<double>(LiveScopeTables());
}

// One decision log line as buildgated writes it for every decision: ids of
// real length, a caller with its peer address, four reason codes.
void BM_DecisionLogLine(benchmark::State& state) {
  v1::PolicySet policy = Policy(kPolicy);
  policy.set_org_id("acme-platform-engineering-emea-production");
  const auto compiled = *CompiledPolicySet::Compile(policy);
  v1::BuildStep step = Step(kAllowStep);
  step.set_org_id(policy.org_id());
  step.set_project_id("payments-settlement-reconciliation-service");
  step.set_pipeline_id("build_and_publish_settlement_reconciler_image");
  step.set_stage_id("build_container_images_for_all_architectures");
  step.set_step_id("build_and_push_settlement_reconciler_amd64");
  v1::Decision decision;
  if (!Decide(*compiled, step, &decision, v1::DECISION_VIEW_BASIC).ok()) std::abort();
  DecisionLogEntry entry;
  entry.decision_id = "3f9a1c07e2b4-0000a3f1";
  entry.time = absl::FromUnixMicros(1796000000000000);
  entry.caller = "pipeline-governance.platform-security.svc (ipv4:10.12.0.7:51234)";
  entry.rpc = "Decide";
  entry.step = &step;
  entry.decision = &decision;
  entry.latency_us = 12;
  std::string line;
  AllocationCounter allocations(state);
  for (auto _ : state) {
    line.clear();
    DecisionLog::AppendLine(entry, &line);
    benchmark::DoNotOptimize(line);
  }
  state.counters["line_bytes"] = static_cast<double>(line.size());
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_CheckRequestLimits);
BENCHMARK(BM_DecisionLogLine);
BENCHMARK(BM_DecideAllow)->Threads(1)->Threads(2);
BENCHMARK(BM_DecideAllowWithChanges);
BENCHMARK(BM_DecideDenyWithRemediations);
BENCHMARK(BM_DecideAllowBasic);
BENCHMARK(BM_DecideAllowWithChangesBasic);
BENCHMARK(BM_DecideDenyBasic);
BENCHMARK(BM_DecideAllowFresh);
BENCHMARK(BM_DecideDenyWithRemediationsFresh);
BENCHMARK(BM_CompileNewTables);
BENCHMARK(BM_CompileNewTablesParallel)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_CompileSharedTables);
BENCHMARK(BM_CacheLookup)->Threads(1)->Threads(2);
BENCHMARK(BM_CacheLookupShards)->Threads(1)->Threads(2);
BENCHMARK(BM_DecideAcrossSets)->Arg(1)->Arg(1000)->Arg(100000);

}  // namespace
}  // namespace buildgate

BENCHMARK_MAIN();
