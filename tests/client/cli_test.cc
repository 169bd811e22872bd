#include "client/cli.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun Cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

std::string Example(const std::string& rel) { return std::string(BUILDGATE_SOURCE_DIR) + "/" + rel; }

std::string TempFile(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("buildgate_cli_test_" + name);
  std::ofstream(path) << text;
  return path.string();
}

// Proves allow, allow-with-changes, deny and bad input have distinct exit codes.
TEST(Cli, ExitCodesAreDistinct) {
  EXPECT_EQ(Cli({"decide", "--policy", Example("examples/policies/acme.yaml"), "--step",
                 Example("examples/steps/buildah-docker.yaml")}).code, kExitAllow);
  EXPECT_EQ(Cli({"decide", "--policy", Example("examples/policies/acme.yaml"), "--step",
                 Example("examples/steps/build-and-push-ecr.yaml")}).code, kExitAllowWithChanges);
  const std::string strict = TempFile("strict.yaml",
      "org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_FORBIDDEN}\n");
  EXPECT_EQ(Cli({"decide", "--policy", strict, "--step", Example("examples/steps/build-and-push-ecr.yaml")}).code,
            kExitDeny);
  EXPECT_EQ(Cli({"decide", "--policy", strict}).code, kExitBadInput);
  EXPECT_EQ(Cli({}).code, kExitBadInput);
  EXPECT_EQ(Cli({"frobnicate"}).code, kExitBadInput);
  EXPECT_EQ(Cli({"--help"}).code, kExitAllow);
  std::set<int> codes = {kExitAllow, kExitAllowWithChanges, kExitDeny, kExitBadInput, kExitInternal};
  EXPECT_EQ(codes.size(), 5u);
}

// Proves text output shows verdict, builder, privileged, runAsUser, image,
// changes, reasons and the step YAML.
TEST(Cli, TextOutputShowsTheDecision) {
  CliRun r = Cli({"decide", "--policy", Example("examples/policies/acme.yaml"), "--step",
               Example("examples/steps/build-and-push-ecr.yaml")});
  for (const char* want : {"verdict:      VERDICT_ALLOW_WITH_CHANGES", "builder:      BUILDER_BUILDAH",
                           "privileged:   true", "runAsUser:    1000",
                           "image:        plugins/buildah-ecr:1.1.0-linux-amd64", "changes:",
                           "type: BuildAndPushECR -> Plugin", "reasons:", "step yaml:",
                           "runAsUser: \"1000\""}) {
    EXPECT_TRUE(absl::StrContains(r.out, want)) << want << "\n" << r.out;
  }
}

// Proves JSON and YAML outputs use proto3 JSON names and enum names.
TEST(Cli, JsonAndYamlOutputs) {
  CliRun j = Cli({"decide", "-o", "json", "--policy", Example("examples/policies/acme.yaml"), "--step",
               Example("examples/steps/buildah-docker.yaml")});
  EXPECT_EQ(j.code, kExitAllow);
  EXPECT_TRUE(absl::StrContains(j.out, "\"verdict\": \"VERDICT_ALLOW\"")) << j.out;
  EXPECT_TRUE(absl::StrContains(j.out, "\"runAsUser\": \"1000\"")) << j.out;
  CliRun y = Cli({"decide", "-o", "yaml", "--policy", Example("examples/policies/acme.yaml"), "--step",
               Example("examples/steps/buildah-docker.yaml")});
  EXPECT_TRUE(absl::StrContains(y.out, "verdict: VERDICT_ALLOW\n")) << y.out;
  EXPECT_TRUE(absl::StrContains(y.out, "stepYaml: |")) << y.out;
  EXPECT_EQ(Cli({"decide", "-o", "xml", "--policy", "a", "--step", "b"}).code, kExitBadInput);
}

// Proves validate accepts every shipped example policy.
TEST(Cli, ValidateShippedExamples) {
  for (const auto& entry : std::filesystem::directory_iterator(Example("examples/policies"))) {
    CliRun r = Cli({"validate", "--policy", entry.path().string()});
    EXPECT_EQ(r.code, kExitAllow) << entry.path() << "\n" << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, "valid policy set")) << r.out;
  }
}

// Proves malformed files give exit 2 and an error naming file, line and field.
TEST(Cli, MalformedFilesNameFileLineAndField) {
  const std::pair<std::string, std::string> cases[] = {
      {"org_id: acme\npolicy:\n  root: ROOT_FORBIDDEN\n  privileged: MAYBE\n",
       ":4:15: policy.privileged: unknown value \"MAYBE\""},
      {"org_id: acme\npolicy:\n  root: ROOT_FORBIDDEN\n  privileged: PRIVILEGED_ALLOWED\n  colour: red\n",
       ":5:3: policy.colour: unknown field"},
      {"org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED, non_root_uid: lots}\n",
       "policy.non_root_uid: expected an integer"},
      {"org_id: acme\npolicy: {root: ROOT_FORBIDDEN\n", ":"},
      {"org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED, non_root_uid: 0}\n",
       "policy.non_root_uid: must be between 1"},
  };
  int i = 0;
  for (const auto& [text, want] : cases) {
    const std::string path = TempFile("bad" + std::to_string(i++) + ".yaml", text);
    CliRun r = Cli({"validate", "--policy", path});
    EXPECT_EQ(r.code, kExitBadInput) << text;
    EXPECT_TRUE(absl::StrContains(r.err, path)) << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, want)) << "want " << want << "\ngot " << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  CliRun missing = Cli({"validate", "--policy", "/nonexistent/policy.yaml"});
  EXPECT_EQ(missing.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(missing.err, "/nonexistent/policy.yaml: cannot read")) << missing.err;
  const std::string bad_step = TempFile("badstep.yaml", "kind: STEP_KIND_PLUGIN\nrepo: a/b\nprivileged: sure\n");
  CliRun s = Cli({"decide", "--policy", Example("examples/policies/acme.yaml"), "--step", bad_step});
  EXPECT_EQ(s.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(s.err, ":3:13: privileged: expected true or false")) << s.err;
}

// Proves the real binary runs end to end (argv wiring and exit status).
TEST(Cli, BinaryEndToEnd) {
  const std::string cmd = std::string(BUILDGATE_BINARY_DIR) + "/client/buildgate decide --policy " +
                          Example("examples/policies/acme.yaml") + " --step " +
                          Example("examples/steps/build-and-push-ecr.yaml") + " -o json > /dev/null";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kExitAllowWithChanges);
}

}  // namespace
}  // namespace buildgate
