#include "client/policy_commands.h"

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/cli_common.h"
#include "lint/lint.h"
#include "lint/policy_diff.h"
#include "lint/policy_tests.h"

namespace buildgate {

CLI::App* AddTestCommand(CLI::App& app, TestFlags* f) {
  CLI::App* cmd = app.add_subcommand(
      "test", "Run policy tests: steps and pipelines with the decisions and findings expected");
  cmd->add_option("paths", f->paths, "Test files or directories (searched recursively)")
      ->required()
      ->type_name("FILE|DIR");
  cmd->add_option("-o,--output", f->output, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  return cmd;
}

CLI::App* AddDiffCommand(CLI::App& app, DiffFlags* f) {
  CLI::App* cmd = app.add_subcommand(
      "diff", "Show which builds in pipelines a policy change decides differently");
  cmd->add_option("--from", f->from, "The policy set in force")->required()->type_name("FILE");
  cmd->add_option("--to", f->to, "The proposed policy set")->required()->type_name("FILE");
  cmd->add_option("paths", f->paths, "Pipeline files or directories (searched recursively)")
      ->required()
      ->type_name("FILE|DIR");
  cmd->add_option("-o,--output", f->output, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  AddDocumentLimitOptions(cmd, &f->limits);
  return cmd;
}

int RunTest(const TestFlags& f, std::ostream& out, std::ostream& err) {
  auto paths = ExpandInputs(f.paths, "paths", /*recursive=*/true);
  if (!paths.ok()) {
    err << "buildgate test: " << paths.status().message() << "\n";
    return kExitBadInput;
  }
  v1::PolicyTestRun run;
  for (const std::string& path : *paths) {
    if (path == kStdin) {
      run.add_errors("-: test files are read from files (they name files beside them)");
      continue;
    }
    auto loaded = lint::LoadPolicyTestFile(path);
    if (!loaded.ok()) {
      run.add_errors(std::string(loaded.status().message()));
      continue;
    }
    for (v1::PolicyTestResult& r : lint::RunPolicyTests(*loaded)) {
      (r.passed() ? run.set_passed(run.passed() + 1) : run.set_failed(run.failed() + 1));
      *run.add_results() = std::move(r);
    }
  }
  if (f.output == "json") {
    PrintMessage(run, "json", out);
  } else {
    for (const v1::PolicyTestResult& r : run.results()) {
      out << (r.passed() ? "PASS  " : "FAIL  ") << r.file() << ": " << r.name() << "\n";
      for (const std::string& failure : r.failures()) out << "        " << failure << "\n";
    }
    for (const std::string& e : run.errors()) out << "ERROR " << e << "\n";
    out << run.passed() << " passed, " << run.failed() << " failed";
    if (run.errors_size() > 0) out << ", " << run.errors_size() << " files could not be loaded";
    out << "\n";
  }
  if (run.errors_size() > 0) return kExitBadInput;
  return run.failed() > 0 ? kExitFailedOrChanged : kExitAllow;
}

int RunDiff(const DiffFlags& f, std::istream& in, std::ostream& out, std::ostream& err) {
  auto paths = ExpandInputs(f.paths, "paths", /*recursive=*/true);
  if (!paths.ok()) {
    err << "buildgate diff: " << paths.status().message() << "\n";
    return kExitBadInput;
  }
  auto from = LoadPolicy(f.from, in);
  auto to = from.ok() ? LoadPolicy(f.to, in) : from;
  if (!from.ok() || !to.ok()) {
    err << "buildgate: " << (from.ok() ? to : from).status().message() << "\n";
    return kExitBadInput;
  }
  v1::PolicyDiff diff;
  diff.set_from_policy(f.from);
  diff.set_to_policy(f.to);
  for (const std::string& path : *paths) {
    const std::string name = path == kStdin ? "-" : path;
    auto text = ReadInput(path, in, f.limits.max_document_bytes);
    if (!text.ok()) {
      diff.add_errors(std::string(text.status().message()));
      continue;
    }
    auto before = lint::LintDocument(**from, *text, name, f.limits);
    auto after = lint::LintDocument(**to, *text, name, f.limits);
    if (!before.ok() || !after.ok()) {
      // The same document may be refused by one policy only (a mirror).
      diff.add_errors(absl::StrCat(
          before.ok() ? "" : absl::StrCat("--from: ", before.status().message()),
          !before.ok() && !after.ok() ? "; " : "",
          after.ok() ? "" : absl::StrCat("--to: ", after.status().message())));
      continue;
    }
    diff.set_files(diff.files() + 1);
    lint::AddDocumentDiff(before->report, after->report, &diff);
  }
  lint::FinishDiff(&diff);
  if (f.output == "json") {
    PrintMessage(diff, "json", out);
  } else {
    out << lint::PolicyDiffToText(diff);
  }
  if (diff.errors_size() > 0) return kExitBadInput;
  return diff.changed() > 0 ? kExitFailedOrChanged : kExitAllow;
}

}  // namespace buildgate
