// Engine microbenchmarks: Decide on a compiled policy (allow, allow with
// changes, deny), and Compile. Reports numbers; asserts nothing about time.
//
//   build/bench/engine_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include "engine/compiled_policy.h"
#include "engine/decide.h"
#include "engine/proto_text.h"

namespace buildgate {
namespace {

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
  registry_allowlist: [docker.io/acme/*, "*.dkr.ecr.us-east-1.amazonaws.com/*"]
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

void RunDecide(benchmark::State& state, const char* step_yaml) {
  auto compiled = *CompiledPolicySet::Compile(Policy(kPolicy));
  const v1::BuildStep step = Step(step_yaml);
  v1::Decision decision;
  for (auto _ : state) {
    if (!Decide(*compiled, step, &decision).ok()) state.SkipWithError("decide failed");
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DecideAllow(benchmark::State& state) { RunDecide(state, kAllowStep); }
void BM_DecideAllowWithChanges(benchmark::State& state) { RunDecide(state, kChangesStep); }
void BM_DecideDenyWithRemediations(benchmark::State& state) { RunDecide(state, kDenyStep); }

void BM_Compile(benchmark::State& state) {
  const v1::PolicySet set = Policy(kPolicy);
  for (auto _ : state) {
    auto compiled = CompiledPolicySet::Compile(set);
    benchmark::DoNotOptimize(compiled);
  }
}

BENCHMARK(BM_DecideAllow);
BENCHMARK(BM_DecideAllowWithChanges);
BENCHMARK(BM_DecideDenyWithRemediations);
BENCHMARK(BM_Compile);
BENCHMARK(BM_DecideAllow)->Threads(2)->Name("BM_DecideAllow/threads:2");

}  // namespace
}  // namespace buildgate

BENCHMARK_MAIN();
