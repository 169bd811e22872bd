// Exports the scenario corpus for the peer-engine comparison: for every
// corpus case that expects a decision, the effective policy of the step's
// scope, the step's shape, the builder catalog, and which builders
// buildgate's engine admits; plus buildgate's time per decision over the
// same scenarios. bench/cedar/cedar_bench.js re-decides them in Cedar.
//
//   scenario_export --corpus=tests/cases --iterations=2000 > scenarios.json
#include <chrono>
#include <cstdio>
#include <set>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "engine/compiled_policy.h"
#include "engine/decide.h"
#include "engine/proposal.h"
#include "engine/proto_text.h"
#include "tests/testing/corpus_files.h"

ABSL_FLAG(std::string, corpus, "tests/cases", "Scenario corpus directory");
ABSL_FLAG(int, iterations, 2000, "Timing passes over all scenarios");

namespace buildgate {
namespace {

std::string OneLineJson(const google::protobuf::Message& m) {
  std::string json = MessageToJson(m);
  std::string out;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"' && (i == 0 || json[i - 1] != '\\')) in_string = !in_string;
    if (!in_string && (c == '\n' || c == ' ')) continue;
    out.push_back(c);
  }
  return out;
}

int Run() {
  struct Scenario {
    std::string name;
    std::shared_ptr<const CompiledPolicySet> set;
    v1::BuildStep step;
  };
  std::vector<Scenario> scenarios;
  for (auto& c : testing::LoadCorpusFiles(absl::GetFlag(FLAGS_corpus))) {
    if (!c.data.expect_error().empty()) continue;
    auto compiled = CompiledPolicySet::Compile(c.data.policy_set());
    if (!compiled.ok()) continue;
    scenarios.push_back({c.name, *compiled, c.data.step()});
  }
  // Time: every scenario decided `iterations` times.
  v1::Decision d;
  const int iterations = std::max(1, absl::GetFlag(FLAGS_iterations));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    for (const auto& s : scenarios) (void)Decide(*s.set, s.step, &d);
  }
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
                    (static_cast<double>(iterations) * scenarios.size());

  std::printf("{\"engine_ns_per_decision\":%.1f,\"scenarios\":[\n", ns);
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const auto& s = scenarios[i];
    if (!Decide(*s.set, s.step, &d).ok()) continue;
    const v1::Policy& policy = s.set->EffectivePolicy(s.step.project_id(), s.step.pipeline_id());
    // The destination the engine resolved: from the step kind, or the plugin image.
    Proposal proposal;
    if (!ResolveProposal(s.set->catalog_data(), policy, s.step, &proposal).ok()) continue;
    const v1::Destination dest = proposal.destination;
    std::set<int> rejected;
    for (const auto& rb : d.rejected_builders()) rejected.insert(rb.builder());
    std::string admitted = "{";
    for (const auto& spec : s.set->catalog().builders()) {
      absl::StrAppend(&admitted, admitted.size() > 1 ? "," : "", "\"", v1::Builder_Name(spec.builder()),
                      "\":", rejected.count(spec.builder()) ? "false" : "true");
    }
    admitted += "}";
    std::printf(
        "{\"name\":\"%s\",\"destination\":\"%s\",\"arch\":\"%s\",\"simple\":%s,\"caching\":%s,"
        "\"dry_run\":%s,\"policy\":%s,\"catalog\":%s,\"engine_admits\":%s,\"engine_builder\":\"%s\"}%s\n",
        s.name.c_str(), v1::Destination_Name(dest).c_str(),
        s.step.arch() == v1::ARCH_ARM64 ? "ARCH_ARM64" : "ARCH_AMD64", s.step.simple_dockerfile() ? "true" : "false",
        s.step.caching() ? "true" : "false", s.step.dry_run() ? "true" : "false",
        OneLineJson(policy).c_str(), OneLineJson(s.set->catalog()).c_str(), admitted.c_str(),
        v1::Builder_Name(d.builder()).c_str(), i + 1 < scenarios.size() ? "," : "");
  }
  std::printf("]}\n");
  return 0;
}

}  // namespace
}  // namespace buildgate

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return buildgate::Run();
}
