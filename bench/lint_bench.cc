// Lint throughput next to the YAML parser alone on the same input, so the
// report shows what the analysis itself costs: a 1,000-step pipeline, and
// 1,000 small pipelines (a repository's worth of files). Reports bytes/s
// (MB/s) and steps/s (items). Numbers only; nothing here asserts on time.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/compiled_policy.h"
#include "input/yaml_document.h"
#include "lint/lint.h"

namespace buildgate {
namespace {

constexpr char kPolicy[] = R"(org_id: acme
policy:
  root: ROOT_FORBIDDEN
  privileged: PRIVILEGED_ALLOWED
  registry_allowlist: [docker.io/acme/*, "*.dkr.ecr.us-east-1.amazonaws.com/acme/**"]
  credentials: CREDENTIALS_PASSWORD_EXPRESSION
)";

// One step of a realistic mix: 2 in 5 build (Build and Push to Docker Hub
// or ECR, a Buildah Plugin step), the rest run tests or notify.
std::string Step(int i, int indent) {
  const std::string pad(indent, ' ');
  switch (i % 5) {
    case 0:
      return absl::StrCat(pad, "- step:\n", pad, "    type: BuildAndPushDockerRegistry\n", pad,
                          "    identifier: build_and_push_service_image_number_", i, "\n", pad,
                          "    spec:\n", pad, "      connectorRef: acme_docker_hub\n", pad,
                          "      repo: acme/service-", i, "\n", pad,
                          "      tags: [<+codebase.commitSha>]\n");
    case 1:
      return absl::StrCat(pad, "- step:\n", pad, "    type: Plugin\n", pad,
                          "    identifier: buildah_service_image_number_", i, "\n", pad,
                          "    spec:\n", pad,
                          "      image: plugins/buildah-docker:1.1.0-linux-amd64\n", pad,
                          "      privileged: true\n", pad, "      runAsUser: \"1000\"\n", pad,
                          "      settings: {repo: acme/worker-", i,
                          ", password: <+secrets.getValue(\"hub\")>, username: bot}\n");
    case 2:
      return absl::StrCat(pad, "- step:\n", pad, "    type: Plugin\n", pad,
                          "    identifier: notify_slack_", i, "\n", pad, "    spec:\n", pad,
                          "      image: plugins/slack:1.4.1\n", pad,
                          "      settings: {channel: ci}\n");
    default:
      return absl::StrCat(pad, "- step:\n", pad, "    type: Run\n", pad,
                          "    identifier: run_unit_tests_shard_", i, "\n", pad, "    spec:\n",
                          pad, "      image: golang:1.22\n", pad,
                          "      command: go test ./pkg/", i, "/...\n");
  }
}

// A pipeline of `stages` CI stages with `steps_per_stage` steps each.
std::string Pipeline(int stages, int steps_per_stage, int seed) {
  std::string out = absl::StrCat("pipeline:\n  identifier: generated_pipeline_", seed,
                                 "\n  projectIdentifier: platform\n  stages:\n");
  int n = seed * 1000;
  for (int s = 0; s < stages; ++s) {
    absl::StrAppend(&out, "    - stage:\n        identifier: stage_", s,
                    "\n        type: CI\n        spec:\n          infrastructure:\n"
                    "            type: KubernetesDirect\n            spec:\n"
                    "              containerSecurityContext: {runAsNonRoot: true, runAsUser: "
                    "\"1000\"}\n          execution:\n            steps:\n");
    for (int i = 0; i < steps_per_stage; ++i) out += Step(n++, 14);
  }
  return out;
}

InputLimits BenchLimits() {
  InputLimits limits;
  limits.max_document_bytes = 16 << 20;
  limits.max_yaml_nodes = 1 << 20;  // A 1,000-step pipeline has ~25,000 nodes.
  return limits;
}

struct Corpus {
  std::vector<std::string> documents;
  std::size_t bytes = 0;
  int steps = 0;
};

const Corpus& OneBigPipeline() {
  static const Corpus* c = [] {
    auto* out = new Corpus;
    out->documents.push_back(Pipeline(10, 100, 0));
    out->bytes = out->documents[0].size();
    out->steps = 1000;
    return out;
  }();
  return *c;
}

const Corpus& ThousandPipelines() {
  static const Corpus* c = [] {
    auto* out = new Corpus;
    for (int i = 0; i < 1000; ++i) {
      out->documents.push_back(Pipeline(1, 5, i));
      out->bytes += out->documents.back().size();
      out->steps += 5;
    }
    return out;
  }();
  return *c;
}

void Report(benchmark::State& state, const Corpus& c) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * c.steps);
}

void ParseOnly(benchmark::State& state, const Corpus& c) {
  const InputLimits limits = BenchLimits();
  for (auto _ : state) {
    for (const std::string& doc : c.documents) {
      auto node = LoadBoundedYaml(doc, "bench.yaml", limits);
      benchmark::DoNotOptimize(node);
    }
  }
  Report(state, c);
}

void Lint(benchmark::State& state, const Corpus& c) {
  const InputLimits limits = BenchLimits();
  auto policy = CompiledPolicySet::ParseAndCompile(kPolicy, "bench-policy.yaml");
  if (!policy.ok()) {
    state.SkipWithError(std::string(policy.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    for (const std::string& doc : c.documents) {
      auto result = lint::LintDocument(**policy, doc, "bench.yaml", limits);
      if (!result.ok()) {
        state.SkipWithError(std::string(result.status().message()).c_str());
        return;
      }
      benchmark::DoNotOptimize(result);
    }
  }
  Report(state, c);
}

void BM_Pipeline1000Steps_YamlParseOnly(benchmark::State& s) { ParseOnly(s, OneBigPipeline()); }
void BM_Pipeline1000Steps_Lint(benchmark::State& s) { Lint(s, OneBigPipeline()); }
void BM_1000Pipelines_YamlParseOnly(benchmark::State& s) { ParseOnly(s, ThousandPipelines()); }
void BM_1000Pipelines_Lint(benchmark::State& s) { Lint(s, ThousandPipelines()); }

BENCHMARK(BM_Pipeline1000Steps_YamlParseOnly)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Pipeline1000Steps_Lint)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_1000Pipelines_YamlParseOnly)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_1000Pipelines_Lint)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace buildgate

BENCHMARK_MAIN();
