// Exports the scenario corpus for the peer-engine comparison: for every
// corpus case that expects a decision, the effective policy of the step's
// scope, the step's shape, the builder catalog, and which builders
// buildgate's engine admits (BuilderAdmissible); plus buildgate's time per
// full decision and per allow/deny question ("can builder X run this
// step?", the question Cedar answers) over the same scenarios, memoized
// (warm, as a server runs) and fresh (ShapeMemoBypass).
// bench/cedar/cedar_bench.js re-decides them in Cedar.
//
//   scenario_export --corpus=tests/cases --iterations=2000 > scenarios.json
#include <chrono>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "engine/compiled_policy.h"
#include "engine/decide.h"
#include "engine/proposal.h"
#include "input/proto_text.h"
#include "engine/shape_memo_bypass.h"
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
  // Time: every scenario decided `iterations` times; every (scenario,
  // builder) question asked `iterations` times.
  v1::Decision d;
  const int iterations = std::max(1, absl::GetFlag(FLAGS_iterations));
  const auto& builders = scenarios.empty() ? v1::BuilderCatalog().builders()
                                           : scenarios[0].set->catalog().builders();
  auto time_ns = [&](auto&& body, std::size_t per_pass) {
    body();  // Warm (fills the memo unless bypassed).
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) body();
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
           (static_cast<double>(iterations) * per_pass);
  };
  auto decide_all = [&] {
    for (const auto& s : scenarios) (void)Decide(*s.set, s.step, &d);
  };
  auto ask_all = [&] {
    for (const auto& s : scenarios) {
      for (const auto& spec : builders) (void)BuilderAdmissible(*s.set, s.step, spec.builder());
    }
  };
  const std::size_t questions = scenarios.size() * builders.size();
  const double ns = time_ns(decide_all, scenarios.size());
  const double question_ns = time_ns(ask_all, questions);
  double fresh_ns = 0, fresh_question_ns = 0;
  {
    ShapeMemoBypass bypass;
    fresh_ns = time_ns(decide_all, scenarios.size());
    fresh_question_ns = time_ns(ask_all, questions);
  }

  std::printf(
      "{\"engine_ns_per_decision\":%.1f,\"engine_ns_per_decision_fresh\":%.1f,"
      "\"engine_ns_per_question\":%.1f,\"engine_ns_per_question_fresh\":%.1f,\"scenarios\":[\n",
      ns, fresh_ns, question_ns, fresh_question_ns);
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const auto& s = scenarios[i];
    if (!Decide(*s.set, s.step, &d).ok()) continue;
    const v1::Policy& policy = s.set->EffectivePolicy(s.step.project_id(), s.step.pipeline_id());
    // The destination the engine resolved: from the step kind, or the plugin image.
    Proposal proposal;
    if (!ResolveProposal(s.set->catalog_data(), policy, s.step, &proposal).ok()) continue;
    const v1::Destination dest = proposal.destination;
    std::string admitted = "{";
    for (const auto& spec : s.set->catalog().builders()) {
      const absl::StatusOr<bool> admits = BuilderAdmissible(*s.set, s.step, spec.builder());
      absl::StrAppend(&admitted, admitted.size() > 1 ? "," : "", "\"", v1::Builder_Name(spec.builder()),
                      "\":", admits.ok() && *admits ? "true" : "false");
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
