#include "client/cli.h"

#include <google/protobuf/stubs/common.h>
#include <unistd.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/buildgate_client.h"
#include "client/cli_common.h"
#include "client/lint_command.h"
#include "client/policy_commands.h"
#include "common/command_line.h"
#include "common/file.h"
#include "common/input_error.h"
#include "common/status.h"
#include "engine/compiled_policy.h"
#include "engine/decide.h"
#include "engine/enum_names.h"
#include "engine/render.h"
#include "input/input_error_message.h"
#include "input/proto_text.h"
#include "lint/report.h"

namespace buildgate {
namespace {

constexpr char kStdin[] = "-";

// ---- Output.

// Prints decisions: one as it is; several as a JSON array, YAML documents,
// or text blocks headed by their file.
class DecisionPrinter {
 public:
  DecisionPrinter(std::string output, std::size_t count, std::ostream& out)
      : output_(std::move(output)), many_(count > 1), out_(out) {}
  ~DecisionPrinter() {
    if (many_ && output_ == "json") out_ << (printed_ == 0 ? "[" : "\n") << "]\n";
  }
  void Print(const std::string& source, const v1::Decision& d, const std::string& decision_id) {
    if (output_ == "json") {
      if (many_) out_ << (printed_ == 0 ? "[\n" : ",\n");
      std::string json = MessageToJson(d);
      while (!json.empty() && json.back() == '\n') json.pop_back();
      out_ << json << (many_ ? "" : "\n");
    } else if (output_ == "yaml") {
      if (many_) out_ << "---\n# " << source << "\n";
      out_ << MessageToYaml(d);
    } else {
      if (many_) out_ << (printed_ == 0 ? "" : "\n") << "== " << source << "\n";
      if (!decision_id.empty()) out_ << "decision id:  " << decision_id << "\n";
      out_ << DecisionToText(d);
    }
    ++printed_;
  }

 private:
  const std::string output_;
  const bool many_;
  std::ostream& out_;
  int printed_ = 0;
};

// Connects and makes one call, `rpc(client)`. On failure says why and
// returns nullopt with the exit code in `*code`.
template <typename Rpc>
auto CallServer(const ClientOptions& options, Rpc rpc, std::ostream& err, int* code)
    -> std::optional<typename decltype(rpc(std::declval<BuildGateClient&>()))::value_type> {
  const std::unique_ptr<BuildGateClient> client = Connect(options, err);
  if (client == nullptr) {
    *code = kExitBadInput;
    return std::nullopt;
  }
  auto result = rpc(*client);
  if (!result.ok()) {
    PrintRpcError(options, result.status(), err);
    *code = ExitCodeForRpcError(result.status());
    return std::nullopt;
  }
  return *std::move(result);
}

// ---- Commands.

struct DecideFlags {
  std::string policy;
  std::string org;
  std::vector<std::string> steps;
  std::string output = "text";
  std::string view = "full";
  ClientOptions client;
};

v1::DecisionView ViewOf(const DecideFlags& f) {
  return f.view == "basic" ? v1::DECISION_VIEW_BASIC : v1::DECISION_VIEW_FULL;
}

// A step file as read: its name for messages and the step.
struct LoadedStep {
  std::string source;
  v1::BuildStep step;
};

// Reads every step file; one that cannot be read is reported and makes
// `*code` at least kExitBadInput, and the others are still read.
std::vector<LoadedStep> LoadSteps(const std::vector<std::string>& paths, std::istream& in,
                                  std::ostream& err, int* code) {
  std::vector<LoadedStep> loaded;
  for (const std::string& path : paths) {
    auto step = LoadMessage<v1::BuildStep>(path, in);
    if (!step.ok()) {
      err << "buildgate: " << step.status().message() << "\n";
      *code = Worse(*code, kExitBadInput);
      continue;
    }
    loaded.push_back({SourceName(path), *std::move(step)});
  }
  return loaded;
}

int DecideOffline(const DecideFlags& f, const std::vector<std::string>& steps, std::istream& in,
                  std::ostream& out, std::ostream& err) {
  auto policy = LoadPolicy(f.policy, in);
  if (!policy.ok()) {
    err << "buildgate: " << policy.status().message() << "\n";
    return kExitBadInput;
  }
  int code = kExitAllow;
  const std::vector<LoadedStep> loaded = LoadSteps(steps, in, err, &code);
  DecisionPrinter printer(f.output, steps.size(), out);
  for (const LoadedStep& s : loaded) {
    v1::Decision decision;
    if (absl::Status status = buildgate::Decide(**policy, s.step, &decision, ViewOf(f)); !status.ok()) {
      err << "buildgate: " << s.source << ": " << status.message() << "\n";
      code = Worse(code, kExitBadInput);
      continue;
    }
    printer.Print(s.source, decision, "");
    code = Worse(code, ExitCodeForVerdict(decision.verdict()));
  }
  return code;
}

int DecideRemote(const DecideFlags& f, const std::vector<std::string>& steps, std::istream& in,
                 std::ostream& out, std::ostream& err) {
  if (f.policy.empty() == f.org.empty()) {
    err << "buildgate decide: with --server, give exactly one of --org ORG (a stored policy set) "
           "and --policy FILE (sent inline)\n";
    return kExitBadInput;
  }
  int code = kExitAllow;
  std::vector<LoadedStep> loaded = LoadSteps(steps, in, err, &code);
  if (loaded.empty()) return code;
  v1::PolicySource source;
  if (!f.org.empty()) {
    source.set_org_id(f.org);
  } else {
    auto set = LoadMessage<v1::PolicySet>(f.policy, in);
    if (!set.ok()) {
      err << "buildgate: " << set.status().message() << "\n";
      return kExitBadInput;
    }
    *source.mutable_inline_policy() = *std::move(set);
  }
  ClientOptions options = f.client;
  options.view = ViewOf(f);
  const std::unique_ptr<BuildGateClient> client = Connect(options, err);
  if (client == nullptr) return kExitBadInput;
  std::vector<v1::DecideResponse> results;
  if (loaded.size() == 1) {
    // One step: Decide, which sends an inline policy once and then only its
    // fingerprint.
    auto r = source.has_inline_policy()
                 ? client->DecideWithPolicy(source.inline_policy(), loaded[0].step)
                 : client->Decide(source, loaded[0].step);
    if (!r.ok()) {
      PrintRpcError(f.client, r.status(), err);
      return Worse(code, ExitCodeForRpcError(r.status()));
    }
    results.push_back(*std::move(r));
  } else {
    // Several steps: one DecideBatch call.
    v1::DecideBatchRequest request;
    *request.mutable_policy() = source;
    request.set_view(ViewOf(f));
    for (LoadedStep& s : loaded) *request.add_steps() = std::move(s.step);
    auto r = client->DecideBatch(request);
    if (!r.ok()) {
      PrintRpcError(f.client, r.status(), err);
      return Worse(code, ExitCodeForRpcError(r.status()));
    }
    results.assign(r->results().begin(), r->results().end());
  }
  DecisionPrinter printer(f.output, results.size(), out);
  for (std::size_t i = 0; i < results.size() && i < loaded.size(); ++i) {
    printer.Print(loaded[i].source, results[i].decision(), results[i].decision_id());
    if (f.output != "text")
      err << loaded[i].source << ": decision id " << results[i].decision_id() << "\n";
    code = Worse(code, ExitCodeForVerdict(results[i].decision().verdict()));
  }
  return code;
}

int RunDecide(const DecideFlags& f, std::istream& in, std::ostream& out, std::ostream& err) {
  auto steps = ExpandInputs(f.steps, "--step");
  if (!steps.ok()) {
    err << "buildgate decide: " << steps.status().message() << "\n";
    return kExitBadInput;
  }
  if (f.policy == kStdin && std::count(steps->begin(), steps->end(), kStdin) > 0) {
    err << "buildgate decide: - (standard input) can be given once: for --policy or for --step\n";
    return kExitBadInput;
  }
  if (f.client.target.empty()) {
    if (!f.org.empty()) {
      err << "buildgate decide: --org names a policy set stored on a server: add --server ADDR, "
             "or decide offline with --policy FILE\n";
      return kExitBadInput;
    }
    if (f.policy.empty()) {
      err << "buildgate decide: --policy FILE is required offline (or --server ADDR with "
             "--org ORG)\n";
      return kExitBadInput;
    }
    return DecideOffline(f, *steps, in, out, err);
  }
  return DecideRemote(f, *steps, in, out, err);
}

struct ValidateFlags {
  std::vector<std::string> policies;
  std::string output = "text";
  ClientOptions client;
};

// Prints `buildgate validate`'s results: text lines (errors to `err`), or for
// JSON and YAML one v1::ValidatedPolicy per file (a JSON array, or YAML
// documents, when there are several), its `error` an object with the
// message, file, line, column and field where known.
class ValidatePrinter {
 public:
  ValidatePrinter(std::string output, std::size_t count, std::ostream& out, std::ostream& err)
      : output_(std::move(output)), many_(count > 1), out_(out), err_(err) {}
  ~ValidatePrinter() {
    if (many_ && output_ == "json") out_ << (printed_ == 0 ? "[" : "\n") << "]\n";
  }
  void Valid(v1::ValidatedPolicy v, const std::string& text) {
    v.set_valid(true);
    if (output_ == "text") {
      out_ << text << "\n";
    } else {
      Print(v);
    }
  }
  void Invalid(const std::string& name, const absl::Status& status) {
    err_ << "buildgate: " << status.message() << "\n";
    if (output_ == "text") return;
    v1::ValidatedPolicy v;
    v.set_file(name);
    *v.mutable_error() = InputErrorMessage(status);
    Print(v);
  }

 private:
  void Print(const v1::ValidatedPolicy& v) {
    if (output_ == "json") {
      if (many_) out_ << (printed_ == 0 ? "[\n" : ",\n");
      std::string json = MessageToJson(v);
      while (!json.empty() && json.back() == '\n') json.pop_back();
      out_ << json << (many_ ? "" : "\n");
    } else {
      if (many_) out_ << "---\n";
      out_ << MessageToYaml(v);
    }
    ++printed_;
  }
  const std::string output_;
  const bool many_;
  std::ostream& out_;
  std::ostream& err_;
  int printed_ = 0;
};

int RunValidate(const ValidateFlags& f, std::istream& in, std::ostream& out, std::ostream& err) {
  auto paths = ExpandInputs(f.policies, "--policy");
  if (!paths.ok()) {
    err << "buildgate validate: " << paths.status().message() << "\n";
    return kExitBadInput;
  }
  std::unique_ptr<BuildGateClient> client;
  if (!f.client.target.empty()) {
    client = Connect(f.client, err);
    if (client == nullptr) return kExitBadInput;
  }
  int code = kExitAllow;
  ValidatePrinter printer(f.output, paths->size(), out, err);
  for (const std::string& path : *paths) {
    const std::string name = SourceName(path);
    v1::ValidatedPolicy valid;
    valid.set_file(name);
    if (client == nullptr) {
      auto policy = LoadPolicy(path, in);
      if (!policy.ok()) {
        printer.Invalid(name, policy.status());
        code = Worse(code, kExitBadInput);
        continue;
      }
      const CompiledPolicySet& set = **policy;
      std::vector<std::string> scope_names = set.ScopeNames();
      const std::size_t scopes = scope_names.size();
      valid.set_org_id(set.org_id());
      valid.set_revision(set.revision());
      valid.set_fingerprint(set.fingerprint());
      for (std::string& scope : scope_names) valid.add_scopes(std::move(scope));
      printer.Valid(std::move(valid),
                    absl::StrCat(name, ": valid policy set for org ", set.org_id(), " (", scopes,
                                 " scope", scopes == 1 ? "" : "s", ", revision \"", set.revision(),
                                 "\", fingerprint ", set.fingerprint().substr(0, 16), ")"));
      continue;
    }
    auto set = LoadMessage<v1::PolicySet>(path, in);
    if (!set.ok()) {
      printer.Invalid(name, set.status());
      code = Worse(code, kExitBadInput);
      continue;
    }
    auto result = client->ValidatePolicy(*set);
    if (!result.ok()) {
      PrintRpcError(f.client, result.status(), err);
      code = Worse(code, ExitCodeForRpcError(result.status()));
      continue;
    }
    if (!result->valid()) {
      // The server names the field; the file is this one.
      InputLocation location;
      location.field = result->error_detail().field();
      location.value = IsCredentialField(location.field) ? "" : result->error_detail().value();
      printer.Invalid(
          name, WithFile(SetInputLocation(absl::InvalidArgumentError(result->error()), location),
                         name));
      code = Worse(code, kExitBadInput);
      continue;
    }
    valid.set_org_id(set->org_id());
    valid.set_fingerprint(result->fingerprint());
    *valid.mutable_scopes() = result->scopes();
    printer.Valid(std::move(valid),
                  absl::StrCat(name, ": valid policy set (server ", f.client.target, ", ",
                               result->scopes_size(), " scopes, fingerprint ",
                               result->fingerprint().substr(0, 16), ")"));
  }
  return code;
}

struct RemoteFlags {
  ClientOptions client;
  std::string output;  // Each command sets its default.
  std::string org;     // `get`
};

int RunHealth(const RemoteFlags& f, std::ostream& out, std::ostream& err) {
  const std::unique_ptr<BuildGateClient> client = Connect(f.client, err);
  if (client == nullptr) return kExitBadInput;
  auto health = client->Health();
  if (!health.ok()) {
    PrintRpcError(f.client, health.status(), err);
    return kExitUnavailable;
  }
  out << f.client.target << ": " << *health << "\n";
  return *health == "SERVING" ? kExitAllow : kExitUnavailable;
}

int RunStatus(const RemoteFlags& f, std::ostream& out, std::ostream& err) {
  int code = kExitAllow;
  const auto status = CallServer(
      f.client, [](BuildGateClient& c) { return c.ServerStatus(); }, err, &code);
  if (!status) return code;
  if (f.output != "text") {
    PrintMessage(*status, f.output, out);
  } else {
    const v1::GetServerStatusResponse& s = *status;
    out << f.client.target << ": " << (s.serving() ? "serving" : "not serving") << "\n"
        << "policy sets: " << s.policy_sets() << " from " << s.policy_dir() << " (last reload "
        << s.last_reload_at() << ", reloads ok " << s.reloads_ok() << ", failed "
        << s.reloads_failed() << ", files waiting to settle " << s.pending_files_size() << ")\n"
        << "inline policies: " << (s.inline_policies_allowed() ? "allowed" : "off")
        << ", cached: " << s.cache_entries() << "\n"
        << "decision log lines dropped: " << s.decision_log_dropped_lines() << "\n";
    for (const auto& e : s.file_errors()) {
      // An error about the file's content names the file (with line and
      // column) already (its detail says which); say it once.
      const bool named = !e.detail().file().empty();
      out << "file error: " << (named ? "" : absl::StrCat(e.file(), ": ")) << e.error() << "\n";
    }
    for (const auto& p : s.pending_files()) out << "settling: " << p << "\n";
  }
  return status->serving() ? kExitAllow : kExitUnavailable;
}

int RunList(const RemoteFlags& f, std::ostream& out, std::ostream& err) {
  int code = kExitAllow;
  const auto list = CallServer(
      f.client, [](BuildGateClient& c) { return c.ListPolicySets(); }, err, &code);
  if (!list) return code;
  if (f.output != "text") {
    PrintMessage(*list, f.output, out);
    return kExitAllow;
  }
  out << "ORG\tREVISION\tFINGERPRINT\tSCOPES\tSOURCE\tLOADED\n";
  for (const v1::PolicySetInfo& i : list->policy_sets()) {
    out << i.org_id() << "\t" << (i.revision().empty() ? "-" : i.revision()) << "\t"
        << i.fingerprint().substr(0, 16) << "\t" << i.scopes_size() << "\t" << i.source() << "\t"
        << i.loaded_at()
        << (i.last_error().empty() ? "" : "\t(newer file refused: " + i.last_error() + ")") << "\n";
  }
  return kExitAllow;
}

int RunGet(const RemoteFlags& f, std::ostream& out, std::ostream& err) {
  int code = kExitAllow;
  const auto got = CallServer(
      f.client, [&](BuildGateClient& c) { return c.GetPolicySet(f.org); }, err, &code);
  if (!got) return code;
  if (f.output == "json") {
    out << MessageToJson(got->policy_set());
  } else {
    // A file `buildgate validate` accepts, with where it came from as comments.
    const v1::PolicySetInfo& i = got->info();
    out << "# org " << i.org_id() << ", revision \"" << i.revision() << "\", fingerprint "
        << i.fingerprint() << "\n# from " << i.source() << ", loaded " << i.loaded_at() << "\n"
        << MessageToYaml(got->policy_set());
  }
  return kExitAllow;
}

std::string VersionText() {
  return absl::StrCat(VersionLine("buildgate"), "\ngRPC ", grpc::Version(), ", protobuf ",
                      google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION), "\n");
}

// Shell completion generated from the command tree, so it cannot go stale.
std::string Completion(const CLI::App& app, const std::string& shell) {
  std::vector<std::string> commands;
  std::map<std::string, std::vector<std::string>> options;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    commands.push_back(sub->get_name());
    for (const CLI::Option* o : sub->get_options()) {
      for (const std::string& n : o->get_lnames()) options[sub->get_name()].push_back("--" + n);
    }
  }
  std::string s;
  if (shell == "bash") {
    s = "# buildgate bash completion: source <(buildgate completion bash)\n"
        "_buildgate() {\n"
        "  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}\n"
        "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
        "    COMPREPLY=($(compgen -W \"" +
        absl::StrJoin(commands, " ") +
        " --help --version\" -- \"$cur\"))\n"
        "    return\n"
        "  fi\n"
        "  case \"$cmd\" in\n";
    for (const auto& [cmd, opts] : options) {
      absl::StrAppend(&s, "    ", cmd, ") COMPREPLY=($(compgen -W \"", absl::StrJoin(opts, " "),
                      "\" -- \"$cur\") $(compgen -f -- \"$cur\")) ;;\n");
    }
    s += "  esac\n}\ncomplete -F _buildgate buildgate\n";
  } else {
    s = "#compdef buildgate\n# buildgate zsh completion: source <(buildgate completion zsh)\n"
        "_buildgate() {\n"
        "  if (( CURRENT == 2 )); then\n"
        "    compadd " +
        absl::StrJoin(commands, " ") +
        "\n"
        "    return\n"
        "  fi\n"
        "  case $words[2] in\n";
    for (const auto& [cmd, opts] : options) {
      absl::StrAppend(&s, "    ", cmd, ") compadd ", absl::StrJoin(opts, " "), "; _files ;;\n");
    }
    s += "  esac\n}\ncompdef _buildgate buildgate\n";
  }
  return s;
}

}  // namespace

int ExitCodeForVerdict(v1::Verdict verdict) {
  switch (verdict) {
    case v1::VERDICT_ALLOW:
      return kExitAllow;
    case v1::VERDICT_ALLOW_WITH_CHANGES:
      return kExitAllowWithChanges;
    case v1::VERDICT_DENY:
      return kExitDeny;
    default:
      return kExitInternal;
  }
}

std::string DecisionToText(const v1::Decision& d) {
  std::string out;
  auto indented = [&out](const std::string& text) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (!line.empty()) absl::StrAppend(&out, "  ", line, "\n");
    }
  };
  absl::StrAppend(&out, "verdict:      ", EnumName(d.verdict()), "\n");
  absl::StrAppend(&out, "runs on:      ", EnumName(d.infrastructure()), ", ", EnumName(d.os()),
                  "\n");
  if (d.builder() != v1::BUILDER_UNSPECIFIED) {
    absl::StrAppend(&out, "builder:      ", EnumName(d.builder()), " (", d.harness_step_type(),
                    " step", d.profile().empty() ? "" : absl::StrCat(", profile ", d.profile()),
                    ")\n");
    absl::StrAppend(&out, "image:        ", d.image(), "\n");
    // Off Kubernetes the decision sets neither: Harness runs the build itself.
    if (d.has_privileged()) {
      absl::StrAppend(&out, "privileged:   ", d.privileged() ? "true" : "false", "\n");
    }
    if (d.has_run_as_user()) absl::StrAppend(&out, "runAsUser:    ", d.run_as_user(), "\n");
    if (d.required_pod_security() != v1::PSS_UNSPECIFIED) {
      absl::StrAppend(&out, "pod security: ", EnumName(d.required_pod_security()),
                      " or looser\n");
    }
  }
  absl::StrAppend(&out, "policy:       scope ", d.policy_scope(), ", revision \"",
                  d.policy_revision(), "\", fingerprint ", d.policy_fingerprint().substr(0, 16),
                  "\n");
  if (!d.settings().empty()) {
    out += "settings:\n";
    for (const auto& s : d.settings()) {
      absl::StrAppend(&out, "  ", s.name(), "=", s.value(), "  (", EnumName(s.scope()), ")\n");
    }
  }
  if (!d.changes().empty()) {
    out += "changes:\n";
    for (const auto& c : d.changes()) {
      absl::StrAppend(&out, "  ", ChangeText(c), "\n");
    }
  }
  out += "reasons:\n";
  for (const auto& r : d.reasons()) {
    absl::StrAppend(&out, "  [", EnumName(r.code()), "] ", r.message(), "\n");
  }
  if (!d.rejected_builders().empty()) {
    out += "rejected builders:\n";
    for (const auto& rb : d.rejected_builders()) {
      absl::StrAppend(&out, "  ", EnumName(rb.builder()), ":\n");
      for (const auto& r : rb.reasons()) {
        absl::StrAppend(&out, "    [", EnumName(r.code()), "] ", r.message(), "\n");
      }
    }
  }
  if (!d.remediations().empty()) {
    out += "remediations:\n";
    for (const auto& r : d.remediations()) absl::StrAppend(&out, "  - ", r.message(), "\n");
  }
  if (!d.step_yaml().empty()) {
    out += "step yaml:\n";
    indented(d.step_yaml());
  }
  if (!d.stage_variables_yaml().empty()) {
    out += "stage variables yaml:\n";
    indented(d.stage_variables_yaml());
  }
  return out;
}

int RunCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
           std::ostream& err) {
  CLI::App app{
      "buildgate: which builder, privileged and runAsUser a CI build-and-push step needs under an "
      "org's policy.\nOffline with --policy FILE, or against buildgated with --server ADDR.\n"
      "Exit codes: 0 allow/valid/serving, 10 allow with changes, 20 deny, 2 bad input, 3 server "
      "unavailable or not serving, 4 a test failed or a decision changed (test, diff), 1 "
      "internal error.",
      "buildgate"};
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionText());
  const std::vector<std::string> outputs = {"text", "json", "yaml"};

  DecideFlags decide;
  CLI::App* decide_cmd = app.add_subcommand("decide", "Decide how build steps may run");
  decide_cmd->add_option("--step", decide.steps, "Build step file(s), directories, or - for stdin")
      ->required()
      ->type_name("FILE");
  decide_cmd->add_option("--policy", decide.policy, "Policy set file (offline, or sent inline)")
      ->type_name("FILE");
  decide_cmd->add_option("--org", decide.org,
                         "Org whose stored policy set decides (with --server)");
  decide_cmd->add_option("-o,--output", decide.output, "Output format")
      ->check(CLI::IsMember(outputs))
      ->capture_default_str();
  decide_cmd->add_option("--view", decide.view,
                         "full: with reasons' messages, rejected builders, remediations and the "
                         "step YAML; basic: what to run and the reason codes")
      ->check(CLI::IsMember({"basic", "full"}))
      ->capture_default_str();
  AddRemoteOptions(decide_cmd, &decide.client, /*server_required=*/false);

  ValidateFlags validate;
  CLI::App* validate_cmd = app.add_subcommand("validate", "Check policy set files");
  validate_cmd
      ->add_option("--policy", validate.policies,
                   "Policy set file(s), directories, or - for stdin; every one is checked")
      ->required()
      ->type_name("FILE");
  validate_cmd->add_option("-o,--output", validate.output, "Output format")
      ->check(CLI::IsMember({"text", "json", "yaml"}))
      ->capture_default_str();
  AddRemoteOptions(validate_cmd, &validate.client, /*server_required=*/false);

  RemoteFlags health, status, list, get;
  health.output = status.output = list.output = "text";
  get.output = "yaml";
  CLI::App* health_cmd = app.add_subcommand("health", "Ask buildgated whether it is serving");
  AddRemoteOptions(health_cmd, &health.client, /*server_required=*/true);
  CLI::App* status_cmd = app.add_subcommand("status", "Show buildgated's policy store and cache");
  AddRemoteOptions(status_cmd, &status.client, /*server_required=*/true);
  status_cmd->add_option("-o,--output", status.output, "Output format")
      ->check(CLI::IsMember(outputs))
      ->capture_default_str();
  CLI::App* list_cmd = app.add_subcommand("list", "List the policy sets buildgated stores");
  AddRemoteOptions(list_cmd, &list.client, /*server_required=*/true);
  list_cmd->add_option("-o,--output", list.output, "Output format")
      ->check(CLI::IsMember(outputs))
      ->capture_default_str();
  CLI::App* get_cmd =
      app.add_subcommand("get", "Print a stored policy set (as a file validate accepts)");
  get_cmd->add_option("org", get.org, "The org")->required();
  AddRemoteOptions(get_cmd, &get.client, /*server_required=*/true);
  get_cmd->add_option("-o,--output", get.output, "Output format")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->capture_default_str();

  LintFlags lint;
  CLI::App* lint_cmd = AddLintCommand(app, &lint);
  TestFlags test;
  CLI::App* test_cmd = AddTestCommand(app, &test);
  DiffFlags diff;
  CLI::App* diff_cmd = AddDiffCommand(app, &diff);

  app.add_subcommand("version", "Print the version of buildgate and its libraries");
  std::string shell;
  CLI::App* completion_cmd = app.add_subcommand(
      "completion", "Print a shell completion script: source <(buildgate completion bash)");
  completion_cmd->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));

  const int parsed = ParseCommandLine(app, args, out, err, kExitBadInput);
  if (parsed >= 0) return parsed;
  if (decide_cmd->parsed()) return RunDecide(decide, in, out, err);
  if (validate_cmd->parsed()) return RunValidate(validate, in, out, err);
  if (lint_cmd->parsed()) {
    const bool out_tty = &out == &std::cout && ::isatty(STDOUT_FILENO) == 1;
    const bool err_tty = &err == &std::cerr && ::isatty(STDERR_FILENO) == 1;
    return RunLint(lint, in, out, err, out_tty, err_tty);
  }
  if (test_cmd->parsed()) return RunTest(test, out, err);
  if (diff_cmd->parsed()) return RunDiff(diff, in, out, err);
  if (health_cmd->parsed()) return RunHealth(health, out, err);
  if (status_cmd->parsed()) return RunStatus(status, out, err);
  if (list_cmd->parsed()) return RunList(list, out, err);
  if (get_cmd->parsed()) return RunGet(get, out, err);
  if (completion_cmd->parsed()) {
    out << Completion(app, shell);
    return kExitAllow;
  }
  out << VersionText();  // `version`
  return kExitAllow;
}

int RunCli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return RunCli(args, std::cin, std::cout, std::cerr);
}

}  // namespace buildgate
