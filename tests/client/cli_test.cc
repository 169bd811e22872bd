#include "client/cli.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "buildgate/v1/service.grpc.pb.h"
#include "client/cli_common.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lint/lint.h"
#include "lint/policy_tests.h"
#include "service/server.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun Cli(std::vector<std::string> args, const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  const int code = RunCli(args, in, out, err);
  return {code, out.str(), err.str()};
}

std::string Example(const std::string& rel) {
  return std::string(BUILDGATE_SOURCE_DIR) + "/" + rel;
}

// Writes `text` to `name` in the process's scratch directory.
std::string TempFile(const std::string& name, const std::string& text) {
  const std::string path = testing::ScratchPath(name);
  std::ofstream(path) << text;
  return path;
}

// Proves allow, allow-with-changes, deny and bad input have distinct exit codes.
TEST(Cli, ExitCodesAreDistinct) {
  EXPECT_EQ(Cli({"decide", "--policy", Example("examples/policies/acme.yaml"), "--step",
                 Example("examples/steps/buildah-docker.yaml")})
                .code,
            kExitAllow);
  EXPECT_EQ(Cli({"decide", "--policy", Example("examples/policies/acme.yaml"), "--step",
                 Example("examples/steps/build-and-push-ecr.yaml")})
                .code,
            kExitAllowWithChanges);
  const std::string strict =
      TempFile("strict.yaml",
               "org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_FORBIDDEN}\n");
  EXPECT_EQ(Cli({"decide", "--policy", strict, "--step",
                 Example("examples/steps/build-and-push-ecr.yaml")})
                .code,
            kExitDeny);
  EXPECT_EQ(Cli({"decide", "--policy", strict}).code, kExitBadInput);
  EXPECT_EQ(Cli({}).code, kExitBadInput);
  EXPECT_EQ(Cli({"frobnicate"}).code, kExitBadInput);
  EXPECT_EQ(Cli({"--help"}).code, kExitAllow);
  std::set<int> codes = {kExitAllow, kExitAllowWithChanges, kExitDeny, kExitBadInput,
                         kExitInternal};
  EXPECT_EQ(codes.size(), 5u);
}

// Proves text output shows verdict, builder, privileged, runAsUser, image,
// changes, reasons and the step YAML.
TEST(Cli, TextOutputShowsTheDecision) {
  CliRun r = Cli({"decide", "--policy", Example("examples/policies/acme.yaml"), "--step",
                  Example("examples/steps/build-and-push-ecr.yaml")});
  for (const char* want :
       {"verdict:      VERDICT_ALLOW_WITH_CHANGES", "builder:      BUILDER_BUILDAH",
        "privileged:   true", "runAsUser:    1000",
        "image:        plugins/buildah-ecr:1.1.0-linux-amd64", "changes:",
        "type: BuildAndPushECR -> Plugin", "reasons:", "step yaml:", "runAsUser: \"1000\""}) {
    EXPECT_TRUE(absl::StrContains(r.out, want)) << want << "\n" << r.out;
  }
}

// Proves JSON and YAML outputs use proto3 JSON names and enum names.
TEST(Cli, JsonAndYamlOutputs) {
  CliRun j = Cli({"decide", "-o", "json", "--policy", Example("examples/policies/acme.yaml"),
                  "--step", Example("examples/steps/buildah-docker.yaml")});
  EXPECT_EQ(j.code, kExitAllow);
  EXPECT_TRUE(absl::StrContains(j.out, "\"verdict\": \"VERDICT_ALLOW\"")) << j.out;
  EXPECT_TRUE(absl::StrContains(j.out, "\"runAsUser\": \"1000\"")) << j.out;
  CliRun y = Cli({"decide", "-o", "yaml", "--policy", Example("examples/policies/acme.yaml"),
                  "--step", Example("examples/steps/buildah-docker.yaml")});
  EXPECT_TRUE(absl::StrContains(y.out, "verdict: VERDICT_ALLOW\n")) << y.out;
  EXPECT_TRUE(absl::StrContains(y.out, "stepYaml: |")) << y.out;
  EXPECT_EQ(Cli({"decide", "-o", "xml", "--policy", "a", "--step", "b"}).code, kExitBadInput);
}

// Proves --view offline: basic leaves out the messages, remediations and
// YAML and keeps the verdict, codes and what to run; an unknown view is a
// usage error.
TEST(Cli, ViewBasicLeavesOutTheExplanation) {
  const std::vector<std::string> base = {"decide", "-o", "json", "--policy",
                                         Example("examples/policies/acme.yaml"), "--step",
                                         Example("examples/steps/buildah-docker.yaml")};
  CliRun full = Cli(base);
  std::vector<std::string> args = base;
  args.push_back("--view=basic");
  CliRun basic = Cli(args);
  EXPECT_EQ(basic.code, full.code);
  EXPECT_TRUE(absl::StrContains(full.out, "\"message\"")) << full.out;
  EXPECT_FALSE(absl::StrContains(basic.out, "\"message\"")) << basic.out;
  EXPECT_FALSE(absl::StrContains(basic.out, "\"stepYaml\"")) << basic.out;
  EXPECT_TRUE(absl::StrContains(basic.out, "\"runAsUser\": \"1000\"")) << basic.out;
  EXPECT_TRUE(absl::StrContains(basic.out, "\"code\": \"RUNS_AS_NON_ROOT\"")) << basic.out;
  args.back() = "--view=summary";
  EXPECT_EQ(Cli(args).code, kExitBadInput);
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
      {"org_id: acme\npolicy:\n  root: ROOT_FORBIDDEN\n  privileged: PRIVILEGED_ALLOWED\n  colour: "
       "red\n",
       ":5:3: policy.colour: unknown field"},
      {"org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED, non_root_uid: "
       "lots}\n",
       "policy.non_root_uid: expected an integer"},
      {"org_id: acme\npolicy: {root: ROOT_FORBIDDEN\n", ":"},
      {"org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED, non_root_uid: "
       "0}\n",
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
  EXPECT_TRUE(absl::StrContains(missing.err, "/nonexistent/policy.yaml: cannot read"))
      << missing.err;
  const std::string bad_step =
      TempFile("badstep.yaml", "kind: STEP_KIND_PLUGIN\nrepo: a/b\nprivileged: sure\n");
  CliRun s =
      Cli({"decide", "--policy", Example("examples/policies/acme.yaml"), "--step", bad_step});
  EXPECT_EQ(s.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(s.err, ":3:13: privileged: expected true or false")) << s.err;
}

// Proves the real binary runs end to end (argv wiring and exit status).
TEST(Cli, BinaryEndToEnd) {
  const std::string cmd = std::string(BUILDGATE_BINARY_DIR) + "/client/buildgate decide --policy " +
                          Example("examples/policies/acme.yaml") + " --step " +
                          Example("examples/steps/build-and-push-ecr.yaml") +
                          " -o json > /dev/null";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kExitAllowWithChanges);
}

const std::string kAcme = Example("examples/policies/acme.yaml");
const std::string kBuildah = Example("examples/steps/buildah-docker.yaml");
const std::string kEcr = Example("examples/steps/build-and-push-ecr.yaml");

// Proves every command has its own --help, printed to stdout with exit 0
// (was: "unknown argument --help", exit 2).
TEST(Cli, EveryCommandHasHelp) {
  for (const std::string cmd :
       {"decide", "validate", "health", "status", "list", "get", "version", "completion"}) {
    CliRun r = Cli({cmd, "--help"});
    EXPECT_EQ(r.code, kExitAllow) << cmd << "\n" << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, "Usage: buildgate " + cmd)) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
  CliRun top = Cli({"--help"});
  EXPECT_TRUE(absl::StrContains(top.out, "decide")) << top.out;
  EXPECT_TRUE(absl::StrContains(top.out, "10 allow with changes")) << top.out;
}

// Proves --flag=value works as --flag value does (was: rejected).
TEST(Cli, FlagEqualsValue) {
  CliRun r = Cli({"decide", "--policy=" + kAcme, "--step=" + kBuildah, "--output=json"});
  EXPECT_EQ(r.code, kExitAllow) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"verdict\": \"VERDICT_ALLOW\"")) << r.out;
}

// Proves a typo gets a suggestion, for flags and for commands.
TEST(Cli, TyposGetSuggestions) {
  CliRun flag = Cli({"decide", "--plicy", kAcme, "--step", kBuildah});
  EXPECT_EQ(flag.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(flag.err, "did you mean --policy")) << flag.err;
  CliRun cmd = Cli({"valdate", "--policy", kAcme});
  EXPECT_EQ(cmd.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(cmd.err, "did you mean validate")) << cmd.err;
}

// Proves `-` reads standard input, for steps and policies, once per run.
TEST(Cli, DashIsStandardInput) {
  std::ifstream step_file(kBuildah);
  const std::string step((std::istreambuf_iterator<char>(step_file)), {});
  CliRun r = Cli({"decide", "--policy", kAcme, "--step", "-"}, step);
  EXPECT_EQ(r.code, kExitAllow) << r.err;
  std::ifstream policy_file(kAcme);
  const std::string policy((std::istreambuf_iterator<char>(policy_file)), {});
  CliRun v = Cli({"validate", "--policy", "-"}, policy);
  EXPECT_EQ(v.code, kExitAllow) << v.err;
  EXPECT_TRUE(absl::StrContains(v.out, "<stdin>: valid policy set for org acme")) << v.out;
  CliRun bad = Cli({"validate", "--policy", "-"}, "org_id: acme\npolicy: {root: SOMETIMES}\n");
  EXPECT_EQ(bad.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(bad.err, "<stdin>:2:")) << bad.err;
  CliRun twice = Cli({"decide", "--policy", "-", "--step", "-"}, policy);
  EXPECT_EQ(twice.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(twice.err, "once")) << twice.err;
}

// Proves every policy given is checked and any failure fails the run, in
// any position (was: the last --policy won, so a broken first file passed),
// and that directories and shell globs expand to every file.
TEST(Cli, ValidateChecksEveryFile) {
  const std::string bad =
      TempFile("first_bad.yaml", "org_id: acme\npolicy: {root: ROOT_FORBIDDEN}\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"validate", "--policy", bad, "--policy", kAcme},
        std::vector<std::string>{"validate", "--policy", kAcme, "--policy", bad},
        std::vector<std::string>{"validate", "--policy", bad, kAcme}}) {
    CliRun r = Cli(args);
    EXPECT_EQ(r.code, kExitBadInput) << absl::StrJoin(args, " ");
    EXPECT_TRUE(absl::StrContains(r.err, bad)) << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, kAcme + ": valid"))
        << r.out;  // The good one still checked.
  }
  CliRun dir = Cli({"validate", "--policy", Example("examples/policies")});
  EXPECT_EQ(dir.code, kExitAllow) << dir.err;
  EXPECT_EQ(std::count(dir.out.begin(), dir.out.end(), '\n'), 5) << dir.out;  // 4 YAML + 1 JSON.
  const std::filesystem::path empty = testing::ScratchPath("empty_dir");
  std::filesystem::create_directories(empty);
  CliRun none = Cli({"validate", "--policy", empty.string()});
  EXPECT_EQ(none.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(none.err, "no *.yaml")) << none.err;
}

// Proves a single-valued flag given twice is an error, not "last one wins".
TEST(Cli, SingleValuedFlagTwiceIsAnError) {
  CliRun r = Cli({"decide", "--policy", kAcme, "--policy", kAcme, "--step", kBuildah});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(r.err, "--policy")) << r.err;
}

// Proves errors name what is actually missing (was: "--policy and --step
// are required" although --step was given).
TEST(Cli, ErrorsNameWhatIsMissing) {
  CliRun org = Cli({"decide", "--org", "acme", "--step", kBuildah});
  EXPECT_EQ(org.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(org.err, "--server")) << org.err;
  EXPECT_FALSE(absl::StrContains(org.err, "--step")) << org.err;
  CliRun nostep = Cli({"decide", "--policy", kAcme});
  EXPECT_TRUE(absl::StrContains(nostep.err, "--step is required")) << nostep.err;
  CliRun health = Cli({"health"});
  EXPECT_EQ(health.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(health.err, "--server is required")) << health.err;
}

// Proves several steps are decided in one run, each printed, the exit code
// the most serious, JSON output one array.
TEST(Cli, SeveralStepsOneRun) {
  CliRun r = Cli({"decide", "--policy", kAcme, "--step", kBuildah, kEcr});
  EXPECT_EQ(r.code, kExitAllowWithChanges) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "== " + kBuildah)) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "== " + kEcr)) << r.out;
  CliRun j = Cli({"decide", "-o", "json", "--policy", kAcme, "--step", Example("examples/steps")});
  EXPECT_EQ(j.code, kExitAllowWithChanges);
  google::protobuf::ListValue array;  // A JSON array, by protobuf's JSON parser.
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(j.out, &array).ok()) << j.out;
  EXPECT_EQ(array.values_size(), 3);  // One per file of examples/steps.
  const std::string missing = "/nonexistent/step.yaml";
  CliRun partial = Cli({"decide", "--policy", kAcme, "--step", kBuildah, missing});
  EXPECT_EQ(partial.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(partial.out, "VERDICT_ALLOW")) << partial.out;
  EXPECT_TRUE(absl::StrContains(partial.err, missing)) << partial.err;
}

// Proves `version` and `--version` say the version, the git revision and
// the gRPC and protobuf versions.
TEST(Cli, Version) {
  for (const std::string arg : {"version", "--version"}) {
    CliRun r = Cli({arg});
    EXPECT_EQ(r.code, kExitAllow);
    EXPECT_TRUE(absl::StartsWith(r.out, "buildgate 0.")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "(git ")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "gRPC 1.")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "protobuf 3.")) << r.out;
  }
}

// Proves completion scripts name every command and are valid bash.
TEST(Cli, Completion) {
  CliRun bash = Cli({"completion", "bash"});
  EXPECT_EQ(bash.code, kExitAllow);
  for (const char* cmd : {"decide", "validate", "health", "status", "list", "get"}) {
    EXPECT_TRUE(absl::StrContains(bash.out, cmd)) << cmd;
  }
  EXPECT_TRUE(absl::StrContains(bash.out, "--policy")) << bash.out;
  const std::string script = TempFile("completion.bash", bash.out);
  EXPECT_EQ(std::system(("bash -n " + script).c_str()), 0) << bash.out;
  CliRun zsh = Cli({"completion", "zsh"});
  EXPECT_TRUE(absl::StrContains(zsh.out, "#compdef buildgate")) << zsh.out;
  EXPECT_EQ(Cli({"completion", "fish"}).code, kExitBadInput);
}

// The "error" object of JSON output, parsed: its message, file, line,
// column and field (numbers as JSON numbers), or a failure saying why not.
::testing::AssertionResult ErrorObject(const google::protobuf::Struct& holder,
                                       google::protobuf::Struct* error) {
  const auto it = holder.fields().find("error");
  if (it == holder.fields().end()) return ::testing::AssertionFailure() << "no \"error\" key";
  if (!it->second.has_struct_value()) {
    return ::testing::AssertionFailure() << "\"error\" is not an object: " << it->second.DebugString();
  }
  *error = it->second.struct_value();
  for (const char* number : {"line", "column"}) {
    const auto n = error->fields().find(number);
    if (n != error->fields().end() &&
        n->second.kind_case() != google::protobuf::Value::kNumberValue) {
      return ::testing::AssertionFailure() << number << " is not a number";
    }
  }
  return ::testing::AssertionSuccess();
}

std::string Text(const google::protobuf::Struct& s, const std::string& key) {
  const auto it = s.fields().find(key);
  return it == s.fields().end() ? "(absent)" : it->second.string_value();
}

double Number(const google::protobuf::Struct& s, const std::string& key) {
  const auto it = s.fields().find(key);
  return it == s.fields().end() ? -1 : it->second.number_value();
}

// The remote commands against a real buildgated serving the embedded
// example policies.
class CliRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_address = "";
    o.decision_log = "";
    auto s = BuildGateServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
    address_ = absl::StrCat("127.0.0.1:", server_->tcp_port());
  }
  std::unique_ptr<BuildGateServer> server_;
  std::string address_;
};

// Proves list, get, status and remote decide (one step: Decide; several:
// one DecideBatch) work, and remote decide prints the decision id.
TEST_F(CliRemoteTest, ListGetStatusDecide) {
  CliRun list = Cli({"list", "--server", address_});
  EXPECT_EQ(list.code, kExitAllow) << list.err;
  EXPECT_TRUE(absl::StrContains(list.out, "acme\t")) << list.out;
  EXPECT_TRUE(absl::StrContains(list.out, "globex\t")) << list.out;
  CliRun get = Cli({"get", "acme", "--server", address_});
  EXPECT_EQ(get.code, kExitAllow) << get.err;
  // What `get` prints is a policy file `validate` accepts.
  CliRun valid = Cli({"validate", "--policy", "-"}, get.out);
  EXPECT_EQ(valid.code, kExitAllow) << valid.err << get.out;
  CliRun missing = Cli({"get", "no-such-org", "--server", address_});
  EXPECT_EQ(missing.code, kExitBadInput);
  EXPECT_TRUE(absl::StrContains(missing.err, "NOT_FOUND")) << missing.err;
  CliRun status = Cli({"status", "--server", address_});
  EXPECT_EQ(status.code, kExitAllow) << status.err;
  EXPECT_TRUE(absl::StrContains(status.out, "serving")) << status.out;
  CliRun one = Cli({"decide", "--server", address_, "--org", "acme", "--step", kEcr});
  EXPECT_EQ(one.code, kExitAllowWithChanges) << one.err;
  EXPECT_TRUE(absl::StrContains(one.out, "decision id:  ")) << one.out;
  CliRun batch = Cli({"decide", "--server=" + address_, "--org=acme", "--step", kBuildah, kEcr});
  EXPECT_EQ(batch.code, kExitAllowWithChanges) << batch.err;
  const std::vector<std::string> lines = absl::StrSplit(batch.out, '\n');
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) { return absl::StartsWith(l, "== "); }),
            2)
      << batch.out;
  EXPECT_EQ(
      std::count_if(lines.begin(), lines.end(),
                    [](const std::string& l) { return absl::StartsWith(l, "decision id:  "); }),
      2)
      << batch.out;
  CliRun inline_policy =
      Cli({"decide", "--server", address_, "--policy", kAcme, "--step", kBuildah});
  EXPECT_EQ(inline_policy.code, kExitAllow) << inline_policy.err;
  // --view reaches the server, for one step (Decide) and several (DecideBatch).
  for (const std::vector<std::string>& steps : {std::vector<std::string>{kEcr}, {kBuildah, kEcr}}) {
    std::vector<std::string> args = {"decide", "-o", "json", "--server", address_, "--org", "acme", "--step"};
    args.insert(args.end(), steps.begin(), steps.end());
    CliRun full = Cli(args);
    args.push_back("--view=basic");
    CliRun basic = Cli(args);
    EXPECT_EQ(basic.code, full.code) << basic.err;
    EXPECT_TRUE(absl::StrContains(full.out, "\"stepYaml\"")) << full.out;
    EXPECT_FALSE(absl::StrContains(basic.out, "\"stepYaml\"")) << basic.out;
    EXPECT_FALSE(absl::StrContains(basic.out, "\"message\"")) << basic.out;
    EXPECT_TRUE(absl::StrContains(basic.out, "\"reasons\"")) << basic.out;
  }
}

// `buildgate lint -o json` over one case, parsed back.
absl::Status LintThroughCli(const lint::LoadedPolicyTests& c, std::vector<std::string> extra,
                            v1::LintReport* report, int* code) {
  const std::string pipeline =
      (std::filesystem::path(c.path).parent_path() / c.file.cases(0).pipeline_file()).string();
  std::vector<std::string> args = {"lint", "-o", "json", "--policy", c.policy_path, pipeline};
  args.insert(args.end(), extra.begin(), extra.end());
  CliRun run = Cli(args);
  *code = run.code;
  v1::LintRun parsed;
  if (!google::protobuf::util::JsonStringToMessage(run.out, &parsed).ok() ||
      parsed.files_size() != 1) {
    return absl::InternalError(absl::StrCat("not a LintRun: ", run.out, run.err));
  }
  *report = parsed.files(0).report();
  if (parsed.files(0).has_error()) {
    return absl::InvalidArgumentError(parsed.files(0).error().message());
  }
  return absl::OkStatus();
}

// The exit code a report must give: the worst finding's.
int ExpectedExitCode(const absl::Status& status, const v1::LintReport& report) {
  if (!status.ok()) return kExitBadInput;
  int code = kExitAllow;
  for (const v1::Finding& f : report.findings()) {
    if (f.verdict() == v1::VERDICT_DENY) return kExitDeny;
    if (f.verdict() != v1::VERDICT_ALLOW) code = kExitAllowWithChanges;
  }
  return code;
}

// Proves the pipeline corpus gives the expected findings through the CLI,
// offline and through a real buildgated's LintPipeline (policy inline),
// with the exit code of the worst finding.
TEST_F(CliRemoteTest, PipelineCorpusOfflineAndRemote) {
  std::vector<lint::LoadedPolicyTests> cases;
  for (const auto& entry :
       std::filesystem::directory_iterator(BUILDGATE_SOURCE_DIR "/tests/pipelines/cases")) {
    auto loaded = lint::LoadPolicyTestFile(entry.path().string());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    cases.push_back(*std::move(loaded));
  }
  ASSERT_GE(cases.size(), 25u);
  for (const auto& c : cases) {
    const v1::PolicyTestCase& expect = c.file.cases(0);
    for (const bool remote : {false, true}) {
      v1::LintReport report;
      int code = -1;
      std::vector<std::string> extra;
      if (remote) extra = {"--server", address_};
      const absl::Status status = LintThroughCli(c, extra, &report, &code);
      ASSERT_NE(status.code(), absl::StatusCode::kInternal) << c.path << ": " << status;
      const auto problems =
          lint::ReportMismatches(expect.expect_report(), expect.expect_error(), status, report);
      EXPECT_TRUE(problems.empty()) << c.path << (remote ? " (remote)" : " (offline)") << "\n  "
                                    << absl::StrJoin(problems, "\n  ");
      EXPECT_EQ(code, ExpectedExitCode(status, report)) << c.path;
    }
  }
}

// Proves a plaintext secret in a step's credentials is never printed (issue
// 21: `lint -o json` printed finding.step.credentials.password): `lint` in
// every output format (text, JSON, SARIF), `lint --fix`, and `decide` in every format, offline
// and through a real buildgated (LintPipeline, Decide), whatever the
// verdict. Usernames are not secrets and stay as written.
TEST_F(CliRemoteTest, PlaintextSecretsAreNeverPrinted) {
  const std::string secret = "Hunter2-s3cr3t-in-plaintext";
  const std::string pipeline = TempFile(
      "secret-pipeline.yaml",
      absl::StrCat("pipeline:\n  identifier: p\n  projectIdentifier: web\n  stages:\n"
                   "    - stage:\n        identifier: build\n        type: CI\n        spec:\n"
                   "          execution:\n            steps:\n"
                   "              - step:\n                  type: Plugin\n"
                   "                  identifier: buildah_with_plaintext_password\n"
                   "                  spec:\n                    connectorRef: hub\n"
                   "                    image: plugins/buildah-docker:1.1.0-linux-amd64\n"
                   "                    privileged: true\n                    runAsUser: \"1000\"\n"
                   "                    settings:\n                      repo: acme/app\n"
                   "                      tags: \"1\"\n                      username: bot\n"
                   "                      password: ",
                   secret, "\n"));
  const std::string step = TempFile(
      "secret-step.yaml",
      absl::StrCat("kind: STEP_KIND_PLUGIN\nimage: plugins/buildah-docker:1.1.0-linux-amd64\n"
                   "repo: acme/app\ntags: [\"1\"]\ncredentials: {username: bot, password: ",
                   secret, "}\n"));
  // acme requires a password expression (deny); a policy without that rule allows it.
  const std::string lenient =
      TempFile("lenient.yaml",
               "org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n");
  int runs = 0;
  for (const std::string& policy : {Example("examples/policies/acme.yaml"), lenient}) {
    for (const std::vector<std::string>& remote :
         {std::vector<std::string>{}, std::vector<std::string>{"--server", address_}}) {
      std::vector<std::vector<std::string>> commands;
      for (const char* format : {"text", "json", "sarif"}) {
        commands.push_back({"lint", "--color", "never", "-o", format, "--policy", policy, pipeline});
      }
      commands.push_back({"lint", "--color", "never", "--fix", "--policy", policy, pipeline});
      for (const char* format : {"text", "json", "yaml"}) {
        commands.push_back({"decide", "-o", format, "--policy", policy, "--step", step});
      }
      for (std::vector<std::string> args : commands) {
        args.insert(args.end(), remote.begin(), remote.end());
        const CliRun run = Cli(args);
        ++runs;
        SCOPED_TRACE(absl::StrJoin(args, " "));
        EXPECT_NE(run.code, kExitBadInput) << run.err;
        EXPECT_FALSE(absl::StrContains(run.out + run.err, secret)) << run.out << run.err;
        EXPECT_FALSE(absl::StrContains(run.out + run.err, "Hunter2")) << run.out << run.err;
      }
    }
  }
  EXPECT_EQ(runs, 28);
  // The redaction is seen, not an empty field: the step says it was there.
  const CliRun json = Cli({"lint", "-o", "json", "--policy", lenient, pipeline});
  EXPECT_TRUE(absl::StrContains(json.out, "[REDACTED]")) << json.out;
  EXPECT_TRUE(absl::StrContains(json.out, "\"username\": \"bot\"")) << json.out;
}

// Proves `status` names a broken policy file once (issue 21: "file error:
// F: F:3:1: ..." printed the path twice), with its line and reason.
TEST(CliStatus, FileErrorNamesTheFileOnce) {
  const std::string dir = testing::ScratchPath("status-policies");
  std::filesystem::create_directories(dir);
  const std::string broken = dir + "/broken.yaml";
  std::ofstream(broken) << "org_id: broken\npolicy:\n  root: ROOT_SOMETIMES\n";
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.metrics_address = "";
  o.decision_log = "";
  o.policy_dir = dir;
  o.store.settle_time = absl::ZeroDuration();
  auto server = BuildGateServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  const CliRun run =
      Cli({"status", "--server", absl::StrCat("127.0.0.1:", (*server)->tcp_port())});
  std::size_t count = 0;
  for (std::size_t at = run.out.find(broken); at != std::string::npos;
       at = run.out.find(broken, at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, absl::StrCat("file error: ", broken, ":3:")))
      << run.out;
}

// Proves `lint --server` takes a file whose path is longer than 256
// characters (the server refused such a file name) and reports it exactly as
// offline lint does.
TEST_F(CliRemoteTest, LintLongPathThroughServer) {
  std::string dir = testing::ScratchPath("cli_lint_long_path");
  std::filesystem::remove_all(dir);
  while (dir.size() < 600) dir += "/services-payments-api-deployments-production";
  std::filesystem::create_directories(dir);
  const std::string doc = dir + "/ecr.yaml";
  std::filesystem::copy_file(
      BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/acme-ecr-build-and-push.yaml", doc);
  const std::string policy = BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml";
  CliRun offline = Cli({"lint", "--color", "never", "--policy", policy, doc});
  CliRun remote = Cli({"lint", "--color", "never", "--policy", policy, "--server", address_, doc});
  EXPECT_EQ(remote.code, offline.code) << remote.out << remote.err;
  EXPECT_EQ(remote.out, offline.out);
  EXPECT_TRUE(absl::StrContains(remote.out, doc)) << remote.out;
}

// Proves the JSON error object is the same through a server: the file,
// line and column come back in the call's error details (the field is the
// request's, `document`), and an invalid inline policy names its field.
TEST_F(CliRemoteTest, JsonErrorObjectThroughServer) {
  const std::string doc = BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/malformed-stages-not-a-list.yaml";
  const std::string policy = BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml";
  CliRun run = Cli({"lint", "-o", "json", "--policy", policy, "--server", address_, doc});
  EXPECT_EQ(run.code, kExitBadInput) << run.err;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &parsed).ok()) << run.out;
  google::protobuf::Struct error;
  ASSERT_TRUE(ErrorObject(parsed.fields().at("files").list_value().values(0).struct_value(), &error))
      << run.out;
  EXPECT_EQ(Text(error, "message"), "document: " + doc + ":7:5: pipeline.stages: expected a list");
  EXPECT_EQ(Text(error, "file"), doc);
  EXPECT_EQ(Number(error, "line"), 7);
  EXPECT_EQ(Number(error, "column"), 5);
  EXPECT_EQ(Text(error, "field"), "document");

  const std::string loose = TempFile(
      "remote-validate-loose.yaml",
      "org_id: acme\npolicy:\n  root: ROOT_FORBIDDEN\n  privileged: PRIVILEGED_ALLOWED\n"
      "overrides:\n  - project_id: p\n    policy:\n      root: ROOT_ALLOWED\n");
  CliRun v = Cli({"validate", "-o", "json", "--server", address_, "--policy", loose});
  EXPECT_EQ(v.code, kExitBadInput) << v.out << v.err;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(v.out, &parsed).ok()) << v.out << v.err;
  ASSERT_TRUE(ErrorObject(parsed, &error)) << v.out;
  EXPECT_TRUE(absl::StartsWith(Text(error, "message"), loose + ": policy_set.overrides[0].policy.root"))
      << v.out;
  EXPECT_EQ(Text(error, "file"), loose);
  EXPECT_EQ(Text(error, "field"), "policy_set.overrides[0].policy.root");
  EXPECT_EQ(error.fields().count("line"), 0u) << v.out;
}

// Proves `lint DIR` reports every file, a malformed one as an error naming
// file and line while the others are still reported, and exits 2.
TEST(CliLint, DirectoryWithMalformedFileReportsTheRest) {
  CliRun run = Cli({"lint", "--color", "never", "--policy",
                    BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml",
                    BUILDGATE_SOURCE_DIR "/tests/pipelines/documents"});
  EXPECT_EQ(run.code, kExitBadInput) << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, "malformed-stages-not-a-list.yaml:7:5: pipeline.stages"))
      << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "acme-ecr-build-and-push.yaml\n  24:17  changes"))
      << run.out;
  std::size_t documents = 0;  // Every file of the folder is reported.
  for (const auto& entry :
       std::filesystem::directory_iterator(BUILDGATE_SOURCE_DIR "/tests/pipelines/documents")) {
    documents += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_TRUE(absl::StrContains(run.out, absl::StrCat(documents, " files:"))) << run.out;
  EXPECT_FALSE(absl::StrContains(run.out, "\033[")) << "colours without a TTY";
}

// Proves `lint DIR` over a .harness-like folder skips what is no pipeline
// (an input set, a trigger, a template, an empty file), says so in text and
// as a SARIF note, and exits by the pipelines' findings (here 10), not 2.
TEST(CliLint, FolderWithOtherHarnessEntitiesSkipsThem) {
  const std::string dir = testing::ScratchPath("harness-folder");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/inputset.yaml") << "inputSet:\n  identifier: dev\n  pipeline:\n    identifier: p\n";
  std::ofstream(dir + "/trigger.yaml") << "trigger:\n  identifier: pr\n";
  std::ofstream(dir + "/stage-template.yaml") << "template:\n  identifier: t\n  type: Stage\n";
  std::ofstream(dir + "/empty.yaml") << "# placeholder\n";
  std::filesystem::copy_file(Example("tests/pipelines/documents/acme-ecr-build-and-push.yaml"),
                             dir + "/build.yaml", std::filesystem::copy_options::overwrite_existing);
  CliRun text = Cli({"lint", "--color", "never", "--policy", Example("examples/policies/acme.yaml"), dir});
  EXPECT_EQ(text.code, kExitAllowWithChanges) << text.out << text.err;
  EXPECT_TRUE(absl::StrContains(text.out, "skipped: input set, not a pipeline")) << text.out;
  EXPECT_TRUE(absl::StrContains(text.out, "skipped: trigger, not a pipeline")) << text.out;
  EXPECT_TRUE(absl::StrContains(text.out, "skipped: template (Stage), not a pipeline")) << text.out;
  EXPECT_TRUE(absl::StrContains(text.out, "skipped: empty document, not a pipeline")) << text.out;
  EXPECT_TRUE(absl::StrContains(text.out, "5 files:")) << text.out;
  CliRun sarif = Cli({"lint", "-o", "sarif", "--policy", Example("examples/policies/acme.yaml"), dir});
  EXPECT_EQ(sarif.code, kExitAllowWithChanges) << sarif.err;
  EXPECT_TRUE(absl::StrContains(sarif.out, "\"skipped: trigger, not a pipeline\"")) << sarif.out;
  EXPECT_TRUE(absl::StrContains(sarif.out, "\"level\": \"note\"")) << sarif.out;
}

// Proves `lint` of each real, public .harness/ folder (tests/pipelines/real,
// stored verbatim with their sources) under each example policy exits 0, 10
// or 20: input sets, templates, triggers, services, connectors, empty files
// and the like are skipped, never an error.
TEST(CliLint, RealHarnessFoldersLintWithoutErrors) {
  const std::string root = BUILDGATE_SOURCE_DIR "/tests/pipelines/real/harness-folders";
  int folders = 0;
  for (const auto& folder : std::filesystem::directory_iterator(root)) {
    ++folders;
    for (const char* policy : {"examples/policies/acme.yaml", "examples/policies/globex-openshift.yaml",
                               "examples/policies/initech-step-root.yaml",
                               "examples/policies/hooli-kaniko-nonroot.yaml"}) {
      CliRun run = Cli({"lint", "--color", "never", "--policy", Example(policy), folder.path().string()});
      EXPECT_TRUE(run.code == kExitAllow || run.code == kExitAllowWithChanges || run.code == kExitDeny)
          << folder.path() << " under " << policy << ": exit " << run.code << "\n" << run.out << run.err;
      EXPECT_FALSE(absl::StrContains(run.out, "  error  ")) << folder.path() << "\n" << run.out;
    }
  }
  EXPECT_GE(folders, 10);
}

// Proves `lint -o json` gives a malformed document's error as an object with
// its message, file, line, column (numbers) and field, not a string to
// parse; the message is the one people read.
TEST(CliLint, JsonErrorIsAnObjectWithFileLineColumnAndField) {
  const std::string doc = BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/malformed-stages-not-a-list.yaml";
  CliRun run = Cli({"lint", "-o", "json", "--policy",
                    BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml", doc});
  EXPECT_EQ(run.code, kExitBadInput) << run.err;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &parsed).ok()) << run.out;
  const google::protobuf::Value& files = parsed.fields().at("files");
  ASSERT_EQ(files.list_value().values_size(), 1) << run.out;
  google::protobuf::Struct error;
  ASSERT_TRUE(ErrorObject(files.list_value().values(0).struct_value(), &error)) << run.out;
  EXPECT_EQ(Text(error, "message"), doc + ":7:5: pipeline.stages: expected a list");
  EXPECT_EQ(Text(error, "file"), doc);
  EXPECT_EQ(Number(error, "line"), 7);
  EXPECT_EQ(Number(error, "column"), 5);
  EXPECT_EQ(Text(error, "field"), "pipeline.stages");
  // The same message on stderr, as before.
  EXPECT_TRUE(absl::StrContains(run.err, "buildgate: " + doc + ":7:5: pipeline.stages: expected a list"))
      << run.err;

  // A YAML syntax error: file, line and column; no field, so no key.
  const std::string bad = TempFile("badpipe.yaml", "pipeline:\n  stages: [ {a: 1}\n");
  run = Cli({"lint", "-o", "json", "--policy", BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml",
             bad});
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &parsed).ok()) << run.out;
  ASSERT_TRUE(ErrorObject(parsed.fields().at("files").list_value().values(0).struct_value(), &error))
      << run.out;
  EXPECT_EQ(Text(error, "file"), bad);
  EXPECT_EQ(Number(error, "line"), 3);
  EXPECT_EQ(Number(error, "column"), 1);
  EXPECT_EQ(error.fields().count("field"), 0u) << run.out;
  EXPECT_TRUE(absl::StartsWith(Text(error, "message"), bad + ":3:1: ")) << run.out;
}

// Proves `validate -o json` prints the policy's error as the same object,
// and a valid policy as data; text output is as before.
TEST(Cli, ValidateJsonErrorIsAnObject) {
  const std::string path = TempFile(
      "validate-json-bad.yaml", "org_id: acme\npolicy:\n  root: ROOT_FORBIDDEN\n  privileged: MAYBE\n");
  CliRun r = Cli({"validate", "-o", "json", "--policy", path});
  EXPECT_EQ(r.code, kExitBadInput) << r.err;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok()) << r.out << r.err;
  google::protobuf::Struct error;
  ASSERT_TRUE(ErrorObject(parsed, &error)) << r.out;
  EXPECT_TRUE(absl::StartsWith(Text(error, "message"),
                               path + ":4:15: policy.privileged: unknown value \"MAYBE\""))
      << r.out;
  EXPECT_EQ(Text(error, "file"), path);
  EXPECT_EQ(Number(error, "line"), 4);
  EXPECT_EQ(Number(error, "column"), 15);
  EXPECT_EQ(Text(error, "field"), "policy.privileged");
  EXPECT_TRUE(absl::StrContains(r.err, path + ":4:15: policy.privileged")) << r.err;

  // A compile error (no line): file and field, no line or column keys.
  const std::string uncompiled = TempFile("validate-json-uncompiled.yaml", "org_id: acme\n");
  r = Cli({"validate", "-o", "json", "--policy", uncompiled});
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok()) << r.out << r.err;
  ASSERT_TRUE(ErrorObject(parsed, &error)) << r.out;
  EXPECT_EQ(Text(error, "message"), uncompiled + ": policy: required") << r.out;
  EXPECT_EQ(Text(error, "file"), uncompiled);
  EXPECT_EQ(Text(error, "field"), "policy");
  EXPECT_EQ(error.fields().count("line"), 0u) << r.out;
  EXPECT_EQ(error.fields().count("column"), 0u) << r.out;

  // Valid: data, no error; several files: an array.
  const std::string good = Example("examples/policies/acme.yaml");
  r = Cli({"validate", "-o", "json", "--policy", good});
  EXPECT_EQ(r.code, kExitAllow) << r.err;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok()) << r.out;
  EXPECT_TRUE(parsed.fields().at("valid").bool_value()) << r.out;
  EXPECT_EQ(Text(parsed, "orgId"), "acme");
  EXPECT_EQ(parsed.fields().count("error"), 0u);
  r = Cli({"validate", "-o", "json", "--policy", good, "--policy", path});
  google::protobuf::ListValue list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &list).ok()) << r.out;
  ASSERT_EQ(list.values_size(), 2) << r.out;
  ASSERT_TRUE(ErrorObject(list.values(1).struct_value(), &error)) << r.out;
  EXPECT_EQ(Number(error, "line"), 4);
}

// Proves a dangling *.yaml symbolic link in a directory given to `lint` is
// an error naming it (never a clean report without it), the other files
// still reported; exit 2.
TEST(CliLint, DanglingSymlinkInDirectoryIsAnError) {
  const std::string dir = testing::ScratchPath("cli_lint_dangling");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/sub");
  std::filesystem::copy_file(
      BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/acme-ecr-build-and-push.yaml",
      dir + "/ecr.yaml");
  std::filesystem::create_symlink("missing.yaml", dir + "/sub/gone.yaml");
  CliRun run = Cli({"lint", "--color", "never", "--policy",
                    BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml", dir});
  EXPECT_EQ(run.code, kExitBadInput) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, dir + "/sub/gone.yaml: cannot read: No such file or "
                                               "directory (a symbolic link whose target does "
                                               "not exist)"))
      << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "ecr.yaml\n  24:17  changes")) << run.out;
}

// Proves `lint --fix` prints a diff that `patch` applies, `--write` applies
// it in place, and linting the result asks for no more changes.
TEST(CliLint, FixAndWrite) {
  const std::string dir = testing::ScratchPath("cli_lint_fix");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string doc = dir + "/ecr.yaml";
  std::filesystem::copy_file(
      BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/acme-ecr-buildah-plugin.yaml", doc);
  const std::string policy = BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml";
  // Relative paths, as a user in the repository would give them.
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  CliRun diff = Cli({"lint", "--fix", "--policy", policy, "ecr.yaml"});
  std::filesystem::current_path(cwd);
  EXPECT_EQ(diff.code, kExitAllowWithChanges) << diff.err;
  ASSERT_TRUE(absl::StrContains(diff.out, "+                    image: plugins/buildah-ecr:"))
      << diff.out;
  std::ofstream(dir + "/fix.diff") << diff.out;
  std::filesystem::copy_file(doc, dir + "/ecr.orig.yaml");
  const auto patched = testing::RunCommand(absl::StrCat("cd ", dir, " && patch -p1 < fix.diff"), true);
  ASSERT_EQ(patched.exit_code, 0) << patched.out;
  CliRun write = Cli({"lint", "--fix", "--write", "--policy", policy, dir + "/ecr.orig.yaml"});
  EXPECT_EQ(write.code, kExitAllow) << write.out << write.err;
  EXPECT_EQ(testing::ReadAll(dir + "/ecr.orig.yaml"), testing::ReadAll(doc));
  CliRun again = Cli({"lint", "--policy", policy, doc});
  EXPECT_EQ(again.code, kExitAllow) << again.out;
  EXPECT_TRUE(absl::StrContains(testing::ReadAll(doc), "# acme's ECR in us-east-1."));
}

// Two pipelines in a fresh scratch directory `dir`: bp.yaml, a Build and
// Push (ECR) step acme decides as a Buildah Plugin step, whose push login
// cannot be carried (its fix is not applied), and plugin.yaml, a Buildah
// Plugin step fixed in place.
std::string UnappliedAndAppliedFixes(const std::string& dir_name) {
  const std::string dir = testing::ScratchPath(dir_name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string docs = BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/";
  std::filesystem::copy_file(docs + "acme-ecr-build-and-push.yaml", dir + "/bp.yaml");
  std::filesystem::copy_file(docs + "acme-ecr-buildah-plugin.yaml", dir + "/plugin.yaml");
  return dir;
}

// `args` run in `dir`, with relative paths as a user in the repository
// gives them (so `patch -p1` applies the diffs).
CliRun CliIn(const std::string& dir, std::vector<std::string> args) {
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  CliRun run = Cli(std::move(args));
  std::filesystem::current_path(cwd);
  return run;
}

// The lines after "suggested, not applied" in `out`, each starting with
// `prefix` (removed), up to the first that does not.
std::string SuggestedDiff(const std::string& out, const std::string& prefix) {
  std::string diff;
  bool in = false;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StrContains(line, "suggested, not applied")) {
      in = true;
    } else if (in && absl::StartsWith(line, prefix)) {
      absl::StrAppend(&diff, line.substr(prefix.size()), "\n");
    } else {
      in = false;
    }
  }
  return diff;
}

// Proves `lint --fix` shows a fix it does not apply on stdout, as "# "
// lines: the reason, each loss, the suggested diff. `patch` applies the
// output's diff and skips the suggestion (the file with it is unchanged);
// the suggestion, uncommented, applies with `patch` too and gives the
// build buildgate decided. Exit codes as before: 10.
TEST(CliLint, FixShowsAnUnappliedFixAsCommentedSuggestion) {
  const std::string dir = UnappliedAndAppliedFixes("cli_lint_fix_unapplied");
  const std::string policy = BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml";
  const std::string bp = testing::ReadAll(dir + "/bp.yaml");
  CliRun diff = CliIn(dir, {"lint", "--fix", "--policy", policy, "bp.yaml", "plugin.yaml"});
  EXPECT_EQ(diff.code, kExitAllowWithChanges) << diff.err;
  EXPECT_TRUE(absl::StartsWith(diff.out, "# bp.yaml:24:17: not fixed: the step type change ("))
      << diff.out;
  EXPECT_TRUE(absl::StrContains(diff.out, "\n#   spec.connectorRef")) << diff.out;
  EXPECT_TRUE(absl::StrContains(diff.out, "\n# --- a/bp.yaml\n# +++ b/bp.yaml\n")) << diff.out;
  EXPECT_TRUE(absl::StrContains(diff.out, "\n--- a/plugin.yaml\n+++ b/plugin.yaml\n")) << diff.out;
  EXPECT_FALSE(absl::StrContains(diff.err, "not fixed")) << diff.err;
  std::ofstream(dir + "/fix.diff") << diff.out;
  const auto patched =
      testing::RunCommand(absl::StrCat("cd ", dir, " && patch -p1 < fix.diff"), true);
  ASSERT_EQ(patched.exit_code, 0) << patched.out;
  EXPECT_EQ(testing::ReadAll(dir + "/bp.yaml"), bp);
  EXPECT_EQ(CliIn(dir, {"lint", "--policy", policy, "plugin.yaml"}).code, kExitAllow);
  const std::string suggestion = SuggestedDiff(diff.out, "# ");
  ASSERT_TRUE(absl::StartsWith(suggestion, "--- a/bp.yaml\n")) << diff.out;
  std::ofstream(dir + "/suggested.diff") << suggestion;
  const auto applied =
      testing::RunCommand(absl::StrCat("cd ", dir, " && patch -p1 < suggested.diff"), true);
  ASSERT_EQ(applied.exit_code, 0) << applied.out << suggestion;
  CliRun after = CliIn(dir, {"lint", "--policy", policy, "bp.yaml"});
  EXPECT_EQ(after.code, kExitAllow) << after.out << testing::ReadAll(dir + "/bp.yaml");
}

// Proves `lint --fix --write` reports a fix it does not apply under its
// finding on stdout, with the suggested diff indented as `patch` still
// reads it; the file is left as it was, the other is written, and the run
// exits 10 (a build still needs changes).
TEST(CliLint, FixWriteReportsAnUnappliedFixWithItsSuggestedDiff) {
  const std::string dir = UnappliedAndAppliedFixes("cli_lint_write_unapplied");
  const std::string policy = BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml";
  const std::string bp = testing::ReadAll(dir + "/bp.yaml");
  CliRun write = CliIn(dir, {"lint", "--fix", "--write", "--color", "never", "--policy", policy,
                             "bp.yaml", "plugin.yaml"});
  EXPECT_EQ(write.code, kExitAllowWithChanges) << write.out << write.err;
  EXPECT_TRUE(absl::StrContains(write.out, "bp.yaml\n  24:17  changes")) << write.out;
  EXPECT_TRUE(absl::StrContains(write.out, "\n      not fixed: the step type change ("))
      << write.out;
  EXPECT_TRUE(absl::StrContains(write.out, "\n        spec.connectorRef")) << write.out;
  EXPECT_TRUE(
      absl::StrContains(write.out, "\n      suggested, not applied:\n        --- a/bp.yaml\n"))
      << write.out;
  EXPECT_FALSE(absl::StrContains(write.err, "not fixed")) << write.err;
  EXPECT_EQ(testing::ReadAll(dir + "/bp.yaml"), bp);
  EXPECT_EQ(CliIn(dir, {"lint", "--policy", policy, "plugin.yaml"}).code, kExitAllow);
  // Copied as shown, indented, the suggestion applies.
  std::ofstream(dir + "/suggested.diff") << SuggestedDiff(write.out, "        ");
  const auto applied =
      testing::RunCommand(absl::StrCat("cd ", dir, " && patch -p1 < suggested.diff"), true);
  ASSERT_EQ(applied.exit_code, 0) << applied.out << write.out;
  EXPECT_EQ(CliIn(dir, {"lint", "--policy", policy, "bp.yaml"}).code, kExitAllow);
}

// Proves JSON carries a fix not applied as its finding's suggested_fix
// (why, what it cannot carry, the diff) with --fix --write, nothing of it on
// stderr, and SARIF carries it as a property, never as a fix.
TEST(CliLint, UnappliedFixInJsonAndSarif) {
  const std::string dir = UnappliedAndAppliedFixes("cli_lint_json_sarif_unapplied");
  const std::string policy = BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml";
  CliRun json =
      CliIn(dir, {"lint", "--fix", "--write", "-o", "json", "--policy", policy, "bp.yaml"});
  EXPECT_EQ(json.code, kExitAllowWithChanges) << json.err;
  EXPECT_FALSE(absl::StrContains(json.err, "not fixed")) << json.err;
  v1::LintRun run;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &run).ok()) << json.out;
  int suggested = 0;
  for (const v1::Finding& f : run.files(0).report().findings()) {
    if (!f.has_suggested_fix()) continue;
    ++suggested;
    EXPECT_EQ(f.location().line(), 24) << f.ShortDebugString();
    EXPECT_TRUE(absl::StartsWith(f.suggested_fix().not_applied(), "the step type change ("))
        << f.suggested_fix().not_applied();
    ASSERT_EQ(f.suggested_fix().not_carried_size(), 1);
    EXPECT_TRUE(absl::StartsWith(f.suggested_fix().not_carried(0), "spec.connectorRef ("));
    EXPECT_TRUE(absl::StrContains(f.suggested_fix().unified_diff(), "+                  type: Plugin"))
        << f.suggested_fix().unified_diff();
  }
  EXPECT_EQ(suggested, 1);
  CliRun sarif = CliIn(dir, {"lint", "-o", "sarif", "--policy", policy, "bp.yaml"});
  EXPECT_EQ(sarif.code, kExitAllowWithChanges) << sarif.err;
  EXPECT_TRUE(absl::StrContains(sarif.out, "\"suggestedFix\"")) << sarif.out;
  EXPECT_FALSE(absl::StrContains(sarif.out, "\"fixes\"")) << sarif.out;
}

// `lint --fix --write` as a careful editor (common/file.h): the pipeline
// that needs changes, copied as `name` into a fresh scratch directory `dir`.
struct WriteCase {
  std::string dir;
  std::string path;
  std::string original;
};

WriteCase FreshFixable(const std::string& dir_name, const std::string& name = "ecr.yaml") {
  WriteCase c;
  c.dir = testing::ScratchPath(dir_name);
  std::filesystem::remove_all(c.dir);
  std::filesystem::create_directories(c.dir);
  c.path = c.dir + "/" + name;
  // Fixed in place (no change of step type), so --write applies it.
  std::filesystem::copy_file(
      BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/acme-ecr-buildah-plugin.yaml", c.path);
  c.original = testing::ReadAll(c.path);
  return c;
}

CliRun FixWrite(const std::string& path, std::vector<std::string> extra = {}) {
  const std::string policy = BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml";
  std::vector<std::string> args = {"lint",  "--fix",    "--write", "--color",
                                   "never", "--policy", policy};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(path);
  return Cli(args);
}

std::set<std::string> NamesIn(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// Proves a symbolic link committed at the old fixed temp name
// (FILE.buildgate-fix.tmp) is never followed: the file it points to outside
// the checkout is unchanged, the link stays, the pipeline is fixed.
TEST(CliLintWrite, NeverFollowsALinkAtTheOldTempName) {
  const WriteCase c = FreshFixable("cli_write_planted_link");
  const std::string outside = FreshFixable("cli_write_planted_outside", "victim").path;
  const std::string victim = testing::ReadAll(outside);
  std::filesystem::create_symlink(outside, c.path + ".buildgate-fix.tmp");
  CliRun run = FixWrite(c.path);
  EXPECT_EQ(run.code, kExitAllow) << run.out << run.err;
  EXPECT_EQ(testing::ReadAll(outside), victim);
  EXPECT_TRUE(std::filesystem::is_symlink(c.path + ".buildgate-fix.tmp"));
  EXPECT_NE(testing::ReadAll(c.path), c.original);
  EXPECT_EQ(NamesIn(c.dir), (std::set<std::string>{"ecr.yaml", "ecr.yaml.buildgate-fix.tmp"}));
}

// Proves a file of the user's at the old temp name survives the fix.
TEST(CliLintWrite, KeepsAFileAtTheOldTempName) {
  const WriteCase c = FreshFixable("cli_write_existing_temp");
  std::ofstream(c.path + ".buildgate-fix.tmp") << "my notes\n";
  CliRun run = FixWrite(c.path);
  EXPECT_EQ(run.code, kExitAllow) << run.out << run.err;
  EXPECT_EQ(testing::ReadAll(c.path + ".buildgate-fix.tmp"), "my notes\n");
  EXPECT_NE(testing::ReadAll(c.path), c.original);
}

// Proves the fixed file keeps its owner (here uid 1234, not root's), its
// mode (0640) and its extended attributes.
TEST(CliLintWrite, KeepsOwnerModeAndExtendedAttributes) {
  const WriteCase c = FreshFixable("cli_write_owner");
  ASSERT_EQ(::chown(c.path.c_str(), 1234, 1234), 0);
  ASSERT_EQ(::chmod(c.path.c_str(), 0640), 0);
  const bool xattrs = ::setxattr(c.path.c_str(), "user.team", "store", 5, 0) == 0;
  CliRun run = FixWrite(c.path);
  EXPECT_EQ(run.code, kExitAllow) << run.out << run.err;
  EXPECT_NE(testing::ReadAll(c.path), c.original);
  struct stat st {};
  ASSERT_EQ(::stat(c.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 1234u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  if (!xattrs) GTEST_SKIP() << "no user extended attributes on this file system";
  char value[16] = {};
  EXPECT_EQ(::getxattr(c.path.c_str(), "user.team", value, sizeof(value)), 5);
  EXPECT_STREQ(value, "store");
}

// Proves a symbolic link to a pipeline is refused, saying so: the link
// stays a link and the file it points to is unchanged; exit 2.
TEST(CliLintWrite, RefusesASymbolicLink) {
  const WriteCase c = FreshFixable("cli_write_symlink");
  std::filesystem::create_symlink("ecr.yaml", c.dir + "/link.yaml");
  CliRun run = FixWrite(c.dir + "/link.yaml");
  EXPECT_EQ(run.code, kExitBadInput) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, c.dir + "/link.yaml: is a symbolic link")) << run.out;
  EXPECT_TRUE(std::filesystem::is_symlink(c.dir + "/link.yaml"));
  EXPECT_EQ(testing::ReadAll(c.path), c.original);
  EXPECT_EQ(NamesIn(c.dir), (std::set<std::string>{"ecr.yaml", "link.yaml"}));
}

// Proves a read-only (0444) pipeline is refused and unchanged; exit 2.
TEST(CliLintWrite, RefusesAReadOnlyFile) {
  const WriteCase c = FreshFixable("cli_write_read_only");
  ASSERT_EQ(::chmod(c.path.c_str(), 0444), 0);
  CliRun run = FixWrite(c.path);
  EXPECT_EQ(run.code, kExitBadInput) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, c.path + ": is read-only (mode 0444)")) << run.out;
  EXPECT_EQ(testing::ReadAll(c.path), c.original);
  EXPECT_EQ(NamesIn(c.dir), (std::set<std::string>{"ecr.yaml"}));
}

// A 64 KiB tmpfs mounted at a scratch directory for one test, unmounted
// when it goes out of scope; mounted() is false where mounting is not
// permitted (a sandbox).
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& name) : dir_(testing::ScratchPath(name)) {
    std::filesystem::create_directories(dir_);
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=64k") == 0;
    if (!mounted_) why_not_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount(dir_.c_str());
  }
  const std::string& dir() const { return dir_; }
  bool mounted() const { return mounted_; }
  bool RemountReadOnly() {
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, "size=64k") == 0;
  }
  const std::string& why_not() const { return why_not_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string why_not_;
};

// Proves a full file system is reported with the path and the reason
// (ENOSPC), the pipeline is unchanged and no temp file is left behind.
TEST(CliLintWrite, FullFileSystemSaysWhyAndLeavesNoTemp) {
  SmallTmpfs fs("cli_write_full");
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << fs.why_not();
  const std::string path = fs.dir() + "/ecr.yaml";
  std::filesystem::copy_file(
      BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/acme-ecr-buildah-plugin.yaml", path);
  const std::string original = testing::ReadAll(path);
  {
    std::ofstream filler(fs.dir() + "/filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), block.size())) filler.flush();
  }
  CliRun run = FixWrite(path);
  EXPECT_EQ(run.code, kExitBadInput) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, path + ": cannot write the new content")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, std::strerror(ENOSPC))) << run.out;
  EXPECT_EQ(testing::ReadAll(path), original);
  EXPECT_EQ(NamesIn(fs.dir()), (std::set<std::string>{"ecr.yaml", "filler"}));
}

// Proves a read-only file system (EROFS) is reported with the path and the
// reason, the pipeline unchanged.
TEST(CliLintWrite, ReadOnlyFileSystemSaysWhy) {
  SmallTmpfs fs("cli_write_erofs");
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << fs.why_not();
  const std::string path = fs.dir() + "/ecr.yaml";
  std::filesystem::copy_file(
      BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/acme-ecr-buildah-plugin.yaml", path);
  const std::string original = testing::ReadAll(path);
  ASSERT_TRUE(fs.RemountReadOnly()) << std::strerror(errno);
  CliRun run = FixWrite(path);
  EXPECT_EQ(run.code, kExitBadInput) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, path + ": ")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, std::strerror(EROFS))) << run.out;
  EXPECT_EQ(testing::ReadAll(path), original);
  EXPECT_EQ(NamesIn(fs.dir()), (std::set<std::string>{"ecr.yaml"}));
}

// A LintPipeline server that lints with the example policy "acme" and,
// before answering, appends a line to `path`: the user saving an edit while
// the server works.
class EditingLintService final : public v1::BuildGateService::Service {
 public:
  explicit EditingLintService(std::string path) : path_(std::move(path)) {
    auto policy = LoadPolicy(BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml", std::cin);
    EXPECT_TRUE(policy.ok()) << policy.status();
    if (policy.ok()) policy_ = *std::move(policy);
  }
  grpc::Status LintPipeline(grpc::ServerContext*, const v1::LintPipelineRequest* request,
                            v1::LintPipelineResponse* response) override {
    if (policy_ == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "no policy");
    auto result = lint::LintDocument(*policy_, request->document(), request->file_name());
    if (!result.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          std::string(result.status().message()));
    }
    *response->mutable_report() = result->report;
    std::ofstream(path_, std::ios::app) << "# the user's edit\n";
    return grpc::Status::OK;
  }

 private:
  std::string path_;
  std::shared_ptr<const CompiledPolicySet> policy_;
};

// Proves `lint --fix --write --server` writes nothing when the file changes
// while the server answers: the user's edit is kept, the message says the
// file changed, exit 2.
TEST(CliLintWrite, FileChangedWhileTheServerAnswersIsNotOverwritten) {
  const WriteCase c = FreshFixable("cli_write_changed");
  EditingLintService service(c.path);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  CliRun run = FixWrite(c.path, {"--server", absl::StrCat("127.0.0.1:", port)});
  server->Shutdown();
  EXPECT_EQ(run.code, kExitBadInput) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, c.path + ": changed while buildgate was working"))
      << run.out << run.err;
  EXPECT_EQ(testing::ReadAll(c.path), c.original + "# the user's edit\n");
  EXPECT_EQ(NamesIn(c.dir), (std::set<std::string>{"ecr.yaml"}));
}

// Proves the example policies' tests and the pipeline corpus pass through
// `buildgate test`.
TEST(CliTest, ExamplePolicyTestsPass) {
  CliRun run = Cli({"test", BUILDGATE_SOURCE_DIR "/examples/tests",
                    BUILDGATE_SOURCE_DIR "/tests/pipelines/cases"});
  EXPECT_EQ(run.code, kExitAllow) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, " passed, 0 failed\n")) << run.out;
  EXPECT_FALSE(absl::StrContains(run.out, "FAIL")) << run.out;
}

// Proves a failing case is reported with why, counted, and exits 4; a test
// file that cannot be loaded exits 2 naming it; -o json is a PolicyTestRun.
TEST(CliTest, FailingAndBrokenTests) {
  const std::string dir = testing::ScratchPath("cli_policy_tests");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/wrong_test.yaml") << "policy_file: " BUILDGATE_SOURCE_DIR
                                             "/examples/policies/acme.yaml\n"
                                             "cases:\n"
                                             "  - name: expects kaniko wrongly\n"
                                             "    step: {kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY, repo: acme/x}\n"
                                             "    expect_decision: {verdict: VERDICT_ALLOW, builder: BUILDER_KANIKO}\n";
  CliRun failing = Cli({"test", dir + "/wrong_test.yaml"});
  EXPECT_EQ(failing.code, kExitFailedOrChanged) << failing.out;
  EXPECT_TRUE(absl::StrContains(failing.out, "FAIL  ")) << failing.out;
  EXPECT_TRUE(absl::StrContains(failing.out, "builder: expected BUILDER_KANIKO, got BUILDER_BUILDAH"))
      << failing.out;
  EXPECT_TRUE(absl::StrContains(failing.out, "0 passed, 1 failed")) << failing.out;
  CliRun json = Cli({"test", "-o", "json", dir + "/wrong_test.yaml"});
  v1::PolicyTestRun run;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &run).ok()) << json.out;
  EXPECT_EQ(run.failed(), 1);
  ASSERT_EQ(run.results_size(), 1);
  EXPECT_GT(run.results(0).failures_size(), 0);

  std::ofstream(dir + "/broken_test.yaml") << "policy_file: missing.yaml\ncases: []\n";
  CliRun broken = Cli({"test", dir + "/broken_test.yaml"});
  EXPECT_EQ(broken.code, kExitBadInput) << broken.out;
  EXPECT_TRUE(absl::StrContains(broken.out, "missing.yaml")) << broken.out;
}

// Proves `buildgate diff` lists the builds a policy change decides
// differently, grouped and counted, exits 4 when any changes and 0 when the
// policies agree.
TEST(CliDiff, ImpactOfAPolicyChange) {
  const std::string docs = BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/";
  const std::string acme = BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml";
  const std::string brief = BUILDGATE_SOURCE_DIR "/tests/pipelines/policies/brief-k8s-noroot.yaml";
  CliRun same = Cli({"diff", "--from", acme, "--to", acme, docs + "gar-gcr-parallel-stages.yaml"});
  EXPECT_EQ(same.code, kExitAllow) << same.out << same.err;
  EXPECT_TRUE(absl::StrContains(same.out, ": 0 of 2 builds in 1 file change")) << same.out;
  CliRun json = Cli({"diff", "-o", "json", "--from", acme, "--to", brief,
                     docs + "gar-gcr-parallel-stages.yaml", docs + "governance-hook-expanded.json",
                     docs + "acme-ecr-buildah-plugin.yaml"});
  EXPECT_EQ(json.code, kExitFailedOrChanged) << json.out << json.err;
  v1::PolicyDiff diff;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &diff).ok()) << json.out;
  EXPECT_EQ(diff.files(), 3);
  EXPECT_EQ(diff.builds(), 5);
  EXPECT_EQ(diff.changed(), 3);
  ASSERT_EQ(diff.groups_size(), 2);
  EXPECT_EQ(diff.groups(0).from(), v1::VERDICT_DENY);
  EXPECT_EQ(diff.groups(0).to(), v1::VERDICT_ALLOW_WITH_CHANGES);
  EXPECT_EQ(diff.groups(0).count(), 2);
  for (const v1::DecisionChange& c : diff.changes()) {
    EXPECT_EQ(c.from().verdict(), v1::VERDICT_DENY) << c.DebugString();
    EXPECT_EQ(c.to().builder(), v1::BUILDER_BUILDAH) << c.DebugString();
  }
  CliRun bad = Cli({"diff", "--from", acme, "--to", brief, docs + "v1-grammar.yaml"});
  EXPECT_EQ(bad.code, kExitBadInput) << bad.out;
  EXPECT_TRUE(absl::StrContains(bad.out, "error: --from: ")) << bad.out;
}

// Proves a pipeline larger than the default node limit is refused naming
// the limit and its flag, and lints with the limit raised.
TEST(CliLint, LargePipelineNeedsTheLimitRaised) {
  std::string doc = "pipeline:\n  identifier: big\n  stages:\n    - stage:\n        identifier: s\n"
                    "        type: CI\n        spec:\n          execution:\n            steps:\n";
  for (int i = 0; i < 2500; ++i) {
    absl::StrAppend(&doc, "              - step:\n                  type: BuildAndPushDockerRegistry\n"
                          "                  identifier: push_", i, "\n                  spec:\n"
                          "                    repo: acme/service-", i, "\n                    tags: [\"1\"]\n");
  }
  const std::string policy = BUILDGATE_SOURCE_DIR "/examples/policies/acme.yaml";
  CliRun refused = Cli({"lint", "--policy", policy, "-"}, doc);
  EXPECT_EQ(refused.code, kExitBadInput) << refused.out;
  EXPECT_TRUE(absl::StrContains(refused.out, "max_yaml_nodes")) << refused.out;
  CliRun raised = Cli({"lint", "--max_yaml_nodes", "100000", "-o", "json", "--policy", policy, "-"},
                      doc);
  EXPECT_EQ(raised.code, kExitAllowWithChanges) << raised.err;
  v1::LintRun run;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(raised.out, &run).ok());
  EXPECT_EQ(run.files(0).report().builds(), 2500);
}

}  // namespace
}  // namespace buildgate
