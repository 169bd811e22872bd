#include "client/lint_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/cli_common.h"
#include "common/command_line.h"
#include "common/file.h"
#include "lint/fix.h"
#include "input/input_error_message.h"
#include "lint/lint.h"
#include "lint/report.h"

namespace buildgate {
namespace {

// Lints documents one at a time, offline or through buildgated.
class Linter {
 public:
  static std::unique_ptr<Linter> Create(const LintFlags& f, std::istream& in, std::ostream& err) {
    auto linter = std::unique_ptr<Linter>(new Linter());
    // Fixes are planned only where they are shown: the diff, and SARIF.
    linter->plans_fixes_ = f.fix || f.output == "sarif";
    if (f.client.target.empty()) {
      if (!f.org.empty()) {
        err << "buildgate lint: --org names a policy set stored on a server: add --server ADDR, "
               "or lint offline with --policy FILE\n";
        return nullptr;
      }
      if (f.policy.empty()) {
        err << "buildgate lint: --policy FILE is required offline (or --server ADDR with --org "
               "ORG)\n";
        return nullptr;
      }
      auto policy = LoadPolicy(f.policy, in);
      if (!policy.ok()) {
        err << "buildgate: " << policy.status().message() << "\n";
        return nullptr;
      }
      linter->policy_ = *std::move(policy);
      linter->limits_ = f.limits;
      return linter;
    }
    if (f.policy.empty() == f.org.empty()) {
      err << "buildgate lint: with --server, give exactly one of --org ORG (a stored policy set) "
             "and --policy FILE (sent inline)\n";
      return nullptr;
    }
    if (!f.org.empty()) {
      linter->source_.set_org_id(f.org);
    } else {
      auto set = LoadMessage<v1::PolicySet>(f.policy, in);
      if (!set.ok()) {
        err << "buildgate: " << set.status().message() << "\n";
        return nullptr;
      }
      *linter->source_.mutable_inline_policy() = *std::move(set);
    }
    linter->options_ = f.client;
    linter->limits_ = f.limits;
    linter->client_ = Connect(f.client, err);
    if (linter->client_ == nullptr) return nullptr;
    return linter;
  }

  // The lint of one document; a remote failure other than INVALID_ARGUMENT
  // sets `*rpc_code`.
  absl::StatusOr<lint::LintResult> Lint(const std::string& text, const std::string& file,
                                        int* rpc_code) {
    if (policy_ != nullptr) return lint::LintDocument(*policy_, text, file, limits_);
    v1::LintPipelineRequest request;
    *request.mutable_policy() = source_;
    request.set_document(text);
    request.set_file_name(file);
    auto response = client_->LintPipeline(request);
    if (!response.ok()) {
      if (response.status().code() != absl::StatusCode::kInvalidArgument) {
        *rpc_code = ExitCodeForRpcError(response.status());
        return absl::Status(response.status().code(),
                            absl::StrCat(options_.target, ": ",
                                         absl::StatusCodeToString(response.status().code()), ": ",
                                         response.status().message()));
      }
      return response.status();
    }
    if (!plans_fixes_) {
      lint::LintResult result;  // The report alone: no fix needs the document.
      result.report = std::move(*response->mutable_report());
      return result;
    }
    return lint::JoinReport(text, file, std::move(*response->mutable_report()), limits_);
  }

  // Whether fixes are planned for each document (--fix, or SARIF's fixes).
  bool plans_fixes() const { return plans_fixes_; }

 private:
  Linter() = default;
  std::shared_ptr<const CompiledPolicySet> policy_;
  v1::PolicySource source_;
  ClientOptions options_;
  InputLimits limits_;
  bool plans_fixes_ = false;
  std::unique_ptr<BuildGateClient> client_;
};

int ExitCodeOf(const v1::LintReport& report) {
  int code = kExitAllow;
  for (const v1::Finding& f : report.findings()) {
    switch (lint::SeverityOf(f)) {
      case lint::Severity::kDenied:
        code = Worse(code, kExitDeny);
        break;
      case lint::Severity::kNeedsChanges:
        code = Worse(code, kExitAllowWithChanges);
        break;
      case lint::Severity::kCompliant:
        break;
    }
  }
  return code;
}

// The document at `path` (standard input for `-`), with the identity of its
// file, which --write checks unchanged before replacing it.
absl::StatusOr<FileSnapshot> ReadDocument(const std::string& path, std::istream& in,
                                          std::size_t max_bytes) {
  if (path != kStdin) return ReadFileSnapshot(path, max_bytes);
  auto text = ReadInput(path, in, max_bytes);
  if (!text.ok()) return text.status();
  FileSnapshot snapshot;
  snapshot.content = *std::move(text);
  return snapshot;
}


// `unapplied` (planned on the linted text) as the suggested_fix of their
// findings in `report`, by index (a --write re-lint finds the same builds
// in the same order).
void AttachSuggestedFixes(const std::vector<lint::UnappliedFix>& unapplied,
                          v1::LintReport* report) {
  for (const lint::UnappliedFix& u : unapplied) {
    if (u.finding < 0 || u.finding >= report->findings_size()) continue;
    v1::SuggestedFix* s = report->mutable_findings(u.finding)->mutable_suggested_fix();
    s->set_not_applied(u.why);
    for (const std::string& item : u.not_carried) s->add_not_carried(item);
    s->set_unified_diff(u.suggested_diff);
  }
}

}  // namespace

CLI::App* AddLintCommand(CLI::App& app, LintFlags* f) {
  CLI::App* cmd = app.add_subcommand(
      "lint", "Find and decide every image build in Harness pipeline files (text, JSON, SARIF)");
  cmd->add_option("paths", f->paths,
                  "Pipeline, stage or step files (YAML or JSON), directories (searched "
                  "recursively), or - for stdin")
      ->required()
      ->type_name("FILE|DIR|-");
  cmd->add_option("--policy", f->policy, "Policy set file (offline, or sent inline)")
      ->type_name("FILE");
  cmd->add_option("--org", f->org, "Org whose stored policy set decides (with --server)");
  cmd->add_option("-o,--output", f->output, "Output format")
      ->check(CLI::IsMember({"text", "json", "sarif"}))
      ->capture_default_str();
  cmd->add_option("--color", f->color, "Colour the text output")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  cmd->add_flag("--fix", f->fix,
                "Print a unified diff that makes every build needing changes compliant");
  cmd->add_flag("--write", f->write,
                "With --fix: apply the fixes in place, like a careful editor (regular, writable "
                "files only; owner, mode and attributes kept)");
  AddDocumentLimitOptions(cmd, &f->limits);
  AddRemoteOptions(cmd, &f->client, /*server_required=*/false);
  return cmd;
}

int RunLint(const LintFlags& f, std::istream& in, std::ostream& out, std::ostream& err,
            bool out_is_tty, bool err_is_tty) {
  if (f.write && !f.fix) {
    err << "buildgate lint: --write applies the fixes of --fix: give both\n";
    return kExitBadInput;
  }
  auto paths = ExpandInputs(f.paths, "paths", /*recursive=*/true);
  if (!paths.ok()) {
    err << "buildgate lint: " << paths.status().message() << "\n";
    return kExitBadInput;
  }
  if (f.policy == kStdin && std::count(paths->begin(), paths->end(), kStdin) > 0) {
    err << "buildgate lint: - (standard input) can be given once: for --policy or for a file\n";
    return kExitBadInput;
  }
  if (f.write && std::count(paths->begin(), paths->end(), kStdin) > 0) {
    err << "buildgate lint: --write cannot write back to standard input\n";
    return kExitBadInput;
  }
  std::unique_ptr<Linter> linter = Linter::Create(f, in, err);
  if (linter == nullptr) return kExitBadInput;

  v1::LintRun run;
  std::vector<lint::FileFix> fixes;
  std::vector<std::vector<lint::UnappliedFix>> unapplied;  // Per file, with --fix.
  std::string diff;
  int code = kExitAllow;
  const bool progress = err_is_tty && paths->size() > 1;
  for (std::size_t i = 0; i < paths->size(); ++i) {
    const std::string& path = (*paths)[i];
    const std::string name = path == kStdin ? "-" : path;
    if (progress) err << "\r\033[Klinting " << (i + 1) << "/" << paths->size() << " " << name;
    v1::LintedFile* file = run.add_files();
    file->set_file(name);
    fixes.emplace_back();
    unapplied.emplace_back();
    auto read = ReadDocument(path, in, f.limits.max_document_bytes);
    if (!read.ok()) {
      *file->mutable_error() = InputErrorMessage(read.status());
      code = Worse(code, kExitBadInput);
      continue;
    }
    const std::string& text = read->content;
    int rpc_code = 0;
    auto result = linter->Lint(text, name, &rpc_code);
    if (!result.ok()) {
      *file->mutable_error() = InputErrorMessage(result.status());
      code = Worse(code, rpc_code != 0 ? rpc_code : kExitBadInput);
      continue;
    }
    if (linter->plans_fixes()) fixes.back() = lint::PlanFixes(text, *result);
    int file_code = ExitCodeOf(result->report);
    if (f.fix) {
      const std::string fixed = lint::ApplyFixes(text, fixes.back());
      unapplied.back() = lint::UnappliedFixes(text, fixes.back(), name);
      // What is not applied (lines patch skips), then the file's diff.
      diff += lint::UnappliedFixesAsDiffComments(name, result->report, unapplied.back());
      diff += lint::UnifiedDiff(text, fixed, name);
      if (f.write && fixed != text) {
        // Written only if the file is still what was linted (see common/file.h).
        if (absl::Status s = ReplaceFileContent(path, *read, fixed); !s.ok()) {
          *file->mutable_error() = InputErrorMessage(s);
          code = Worse(code, kExitBadInput);
          continue;
        }
        auto again = linter->Lint(fixed, name, &rpc_code);
        if (again.ok()) {
          file_code = ExitCodeOf(again->report);
          *result = *std::move(again);
        }
      }
    }
    *file->mutable_report() = std::move(result->report);
    code = Worse(code, file_code);
    if (f.output == "json") AttachSuggestedFixes(unapplied.back(), file->mutable_report());
  }
  if (progress) err << "\r\033[K";
  lint::Summarize(&run);
  if (f.fix && !f.write) {
    // The diff is the output, with fixes not applied as comments; what could
    // not be fixed at all goes to stderr.
    out << diff;
  } else if (f.output == "json") {
    PrintMessage(run, "json", out);
  } else if (f.output == "sarif") {
    out << lint::LintRunToSarif(run, fixes, VersionLine("buildgate")) << "\n";
  } else {
    const bool color = f.color == "always" || (f.color == "auto" && out_is_tty);
    out << lint::LintRunToText(run, unapplied, color);
  }
  if (f.fix) {
    // A fix not applied is shown on stdout with its suggested edits (in
    // JSON as the finding's suggested_fix); what could not be fixed at all
    // goes to stderr.
    for (std::size_t i = 0; i < fixes.size(); ++i) {
      for (const lint::FindingFix& ff : fixes[i].findings) {
        if (ff.skipped.empty() || !ff.incomplete_edits.empty()) continue;
        const v1::Finding& finding = run.files(i).report().findings(ff.finding);
        err << run.files(i).file() << ":" << finding.location().line() << ":"
            << finding.location().column() << ": not fixed: " << ff.skipped << "\n";
      }
    }
  }
  for (const v1::LintedFile& file : run.files()) {
    if (file.has_error() && f.output != "text") {
      err << "buildgate: " << file.error().message() << "\n";
    }
  }
  return code;
}

}  // namespace buildgate
