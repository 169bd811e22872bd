// The real corpus (tests/pipelines/real: pipelines and whole .harness
// folders from public repositories, verbatim) through lint under every
// example policy: each finding as tests/pipelines/real/EXPECTED.yaml says
// (verdict, rule, builder; where the build runs), none missing, none new.
// Where each build runs is also held against BUILDS.json, what the
// collector read from the files by hand, independently of buildgate.
// scripts/real_corpus_expectations.py rewrites EXPECTED.yaml after a change
// meant to change decisions; its diff is the change to read.
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "buildgate/v1/lint.pb.h"
#include "engine/compiled_policy.h"
#include "gtest/gtest.h"
#include "lint/lint.h"
#include "tests/testing/subprocess.h"
#include "yaml-cpp/yaml.h"

namespace buildgate {
namespace {

const std::string kReal = BUILDGATE_SOURCE_DIR "/tests/pipelines/real";

// (file relative to kReal, line, column)
using Place = std::tuple<std::string, int, int>;

std::string Show(const Place& p) {
  return absl::StrCat(std::get<0>(p), ":", std::get<1>(p), ":", std::get<2>(p));
}

std::vector<std::string> RealFiles() {
  std::vector<std::string> files;
  for (const char* dir : {"/pipelines", "/harness-folders"}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(kReal + dir)) {
      const std::string path = e.path().string();
      if (e.is_regular_file() && (absl::EndsWith(path, ".yaml") || absl::EndsWith(path, ".yml"))) {
        files.push_back(path);
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::map<std::string, std::shared_ptr<const CompiledPolicySet>> ExamplePolicies() {
  std::map<std::string, std::shared_ptr<const CompiledPolicySet>> out;
  for (const auto& e :
       std::filesystem::directory_iterator(BUILDGATE_SOURCE_DIR "/examples/policies")) {
    auto set = CompiledPolicySet::ParseAndCompile(testing::ReadAll(e.path().string()),
                                                  e.path().filename().string());
    EXPECT_TRUE(set.ok()) << e.path() << ": " << set.status();
    if (set.ok()) out[e.path().stem().string()] = *set;
  }
  return out;
}

struct Found {
  std::string stage, step;
  std::string infrastructure, os;
  std::map<std::string, std::string> decisions;  // policy -> "VERDICT RULE BUILDER"
};

// Every finding of every real file under every example policy.
std::map<Place, Found> LintEverything() {
  std::map<Place, Found> found;
  const auto policies = ExamplePolicies();
  for (const std::string& path : RealFiles()) {
    const std::string text = testing::ReadAll(path);
    const std::string rel = std::filesystem::relative(path, kReal).string();
    for (const auto& [name, set] : policies) {
      auto result = lint::LintDocument(*set, text, rel);
      EXPECT_TRUE(result.ok()) << rel << " under " << name << ": " << result.status();
      if (!result.ok()) continue;
      for (const v1::Finding& f : result->report.findings()) {
        Found& entry = found[{rel, f.location().line(), f.location().column()}];
        entry.stage = f.stage_id();
        entry.step = f.step_id();
        entry.infrastructure = v1::InfrastructureType_Name(f.step().infrastructure().type());
        entry.os = v1::OperatingSystem_Name(f.step().infrastructure().os());
        entry.decisions[name] = absl::StrCat(v1::Verdict_Name(f.verdict()), " ",
                                             v1::ReasonCode_Name(f.rule()), " ",
                                             v1::Builder_Name(f.decision().builder()));
      }
    }
  }
  return found;
}

// Proves every build of the real corpus is found where EXPECTED.yaml says,
// running where it says, and decided as it says under each example policy.
TEST(RealCorpus, EveryBuildAsExpected) {
  const std::map<Place, Found> found = LintEverything();
  const YAML::Node expected = YAML::LoadFile(kReal + "/EXPECTED.yaml");
  std::set<Place> expected_places;
  for (const YAML::Node& b : expected["builds"]) {
    const Place place{b["file"].as<std::string>(), b["line"].as<int>(), b["column"].as<int>()};
    expected_places.insert(place);
    const auto it = found.find(place);
    if (it == found.end()) {
      ADD_FAILURE() << Show(place) << ": expected a finding, lint found none";
      continue;
    }
    EXPECT_EQ(it->second.step, b["step"].as<std::string>()) << Show(place);
    EXPECT_EQ(it->second.infrastructure, b["infrastructure"].as<std::string>()) << Show(place);
    EXPECT_EQ(it->second.os, b["os"].as<std::string>()) << Show(place);
  }
  for (const auto& [place, entry] : found) {
    EXPECT_TRUE(expected_places.count(place)) << Show(place) << ": a finding EXPECTED.yaml lacks";
  }
  int checked = 0;
  for (const YAML::Node& d : expected["decisions"]) {
    const Place place{d[0].as<std::string>(), d[1].as<int>(), d[2].as<int>()};
    const std::string policy = d[3].as<std::string>();
    const std::string want = absl::StrCat(d[4].as<std::string>(), " ", d[5].as<std::string>(),
                                          " ", d[6].as<std::string>());
    const auto it = found.find(place);
    if (it == found.end()) continue;  // Reported above.
    const auto got = it->second.decisions.find(policy);
    ASSERT_NE(got, it->second.decisions.end()) << Show(place) << " under " << policy;
    EXPECT_EQ(got->second, want) << Show(place) << " under " << policy;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(found.size() * ExamplePolicies().size()));
}

// Proves the builds the collector read by hand (BUILDS.json) are found, on
// the infrastructure and OS the files say, except the ones behind template
// references (named here, so a new miss fails).
TEST(RealCorpus, BuildsTheCollectorReadAreFoundWhereTheyRun) {
  const std::map<Place, Found> found = LintEverything();
  const std::map<std::string, std::string> infrastructure = {
      {"Cloud", "INFRASTRUCTURE_TYPE_HARNESS_CLOUD"},
      {"VM", "INFRASTRUCTURE_TYPE_VM"},
      {"KubernetesDirect", "INFRASTRUCTURE_TYPE_KUBERNETES"},
      {"Docker", "INFRASTRUCTURE_TYPE_LOCAL_DOCKER"}};
  const std::map<std::string, std::string> os = {{"Linux", "OPERATING_SYSTEM_LINUX"},
                                                 {"Windows", "OPERATING_SYSTEM_WINDOWS"},
                                                 {"MacOS", "OPERATING_SYSTEM_MACOS"}};
  const YAML::Node builds = YAML::LoadFile(kReal + "/BUILDS.json");
  std::vector<std::string> missing;
  int matched = 0;
  for (const YAML::Node& b : builds) {
    const std::string file = b["file"].as<std::string>();
    const std::string stage = b["stage"].as<std::string>();
    const std::string step = b["step"].as<std::string>();
    const Found* hit = nullptr;
    for (const auto& [place, entry] : found) {
      if (std::get<0>(place) == file && entry.stage == stage && entry.step == step) hit = &entry;
    }
    if (hit == nullptr) {
      missing.push_back(absl::StrCat(file, " ", stage, "/", step));
      continue;
    }
    ++matched;
    const std::string type = b["type"].as<std::string>();
    if (absl::StartsWith(type, "template")) continue;  // A step template: its stage unread.
    const auto want = infrastructure.find(b["infrastructure"].as<std::string>());
    if (want != infrastructure.end()) {
      EXPECT_EQ(hit->infrastructure, want->second) << file << " " << step;
    }
    const auto want_os = os.find(b["os"].as<std::string>());
    if (want_os != os.end()) EXPECT_EQ(hit->os, want_os->second) << file << " " << step;
  }
  // Behind a pipeline template the corpus does not hold (mailslurper), and
  // behind a stage template reference whose template is linted as its own
  // file (harness-gke-wi-demo's ko_gar_build_push_*.yaml, found there).
  EXPECT_EQ(missing,
            (std::vector<std::string>{
                "harness-folders/Exploratory-Sciences__mailslurper/.harness/ci.yaml "
                "build/Build_and_Push_Temp_Image",
                "harness-folders/Exploratory-Sciences__mailslurper/.harness/ci.yaml "
                "publish/Publish",
                "harness-folders/kameshsampath__harness-gke-wi-demo/.harness/build_and_push.yaml "
                "Build/ko_build_and_push"}))
      << absl::StrJoin(missing, "\n");
  EXPECT_EQ(matched + static_cast<int>(missing.size()), static_cast<int>(builds.size()));
}

}  // namespace
}  // namespace buildgate
