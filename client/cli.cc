#include "client/cli.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/buildgate_client.h"
#include "common/file.h"
#include "common/status.h"
#include "engine/compiled_policy.h"
#include "engine/decide.h"
#include "engine/enum_names.h"
#include "engine/proto_text.h"

namespace buildgate {
namespace {

constexpr char kUsage[] =
    "usage:\n"
    "  buildgate decide   --policy FILE --step FILE [-o text|json|yaml]        (offline)\n"
    "  buildgate decide   --server ADDR (--org ORG | --policy FILE) --step FILE [-o ...]\n"
    "  buildgate validate --policy FILE [--server ADDR]\n"
    "  buildgate health   --server ADDR\n"
    "\n"
    "ADDR is host:port or unix:/path. Remote options: --timeout 5s, --tls_ca FILE,\n"
    "--tls_cert FILE --tls_key FILE (mutual TLS), --tls_server_name NAME, --caller NAME.\n"
    "FILE is YAML or JSON (proto3 JSON field names). Exit codes: 0 allow / valid /\n"
    "serving, 10 allow with changes, 20 deny, 2 bad input, 3 server unavailable or\n"
    "not serving, 1 internal error.\n";

template <typename M>
absl::StatusOr<M> LoadFile(const std::string& path) {
  BG_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  M message;
  BG_RETURN_IF_ERROR(ParseYamlToMessage(text, path, &message));
  return message;
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> LoadPolicy(const std::string& path) {
  BG_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  return CompiledPolicySet::ParseAndCompile(text, path);
}

struct Flags {
  std::string policy;
  std::string step;
  std::string output = "text";
  std::string org;
  ClientOptions client;
};

bool ParseFlags(const std::vector<std::string>& args, std::size_t from, Flags* flags,
                std::ostream& err) {
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* into) {
      if (i + 1 >= args.size()) {
        err << "buildgate: " << a << " needs a value\n";
        return false;
      }
      *into = args[++i];
      return true;
    };
    if (a == "--policy") {
      if (!value(&flags->policy)) return false;
    } else if (a == "--step") {
      if (!value(&flags->step)) return false;
    } else if (a == "-o" || a == "--output") {
      if (!value(&flags->output)) return false;
    } else if (a == "--server") {
      if (!value(&flags->client.target)) return false;
    } else if (a == "--org") {
      if (!value(&flags->org)) return false;
    } else if (a == "--tls_ca") {
      if (!value(&flags->client.tls_ca)) return false;
    } else if (a == "--tls_cert") {
      if (!value(&flags->client.tls_cert)) return false;
    } else if (a == "--tls_key") {
      if (!value(&flags->client.tls_key)) return false;
    } else if (a == "--tls_server_name") {
      if (!value(&flags->client.tls_server_name)) return false;
    } else if (a == "--caller") {
      if (!value(&flags->client.caller)) return false;
    } else if (a == "--timeout") {
      std::string text;
      if (!value(&text)) return false;
      if (!absl::ParseDuration(text, &flags->client.deadline) ||
          flags->client.deadline <= absl::ZeroDuration()) {
        err << "buildgate: --timeout takes a duration such as 2s or 500ms\n";
        return false;
      }
    } else {
      err << "buildgate: unknown argument " << a << "\n";
      return false;
    }
  }
  return true;
}

// Exit code for a failed remote call.
int ExitCodeForRpcError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
      return kExitBadInput;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnauthenticated:
      return kExitUnavailable;
    default:
      return kExitInternal;
  }
}

void PrintDecision(const v1::Decision& decision, const std::string& output, std::ostream& out) {
  if (output == "json") {
    out << MessageToJson(decision);
  } else if (output == "yaml") {
    out << MessageToYaml(decision);
  } else {
    out << DecisionToText(decision);
  }
}

int DecideRemote(const Flags& flags, std::ostream& out, std::ostream& err) {
  if (flags.policy.empty() == flags.org.empty()) {
    err << "buildgate decide: with --server, give exactly one of --org and --policy\n";
    return kExitBadInput;
  }
  auto step = LoadFile<v1::BuildStep>(flags.step);
  if (!step.ok()) {
    err << "buildgate: " << step.status().message() << "\n";
    return kExitBadInput;
  }
  auto client = BuildGateClient::Create(flags.client);
  if (!client.ok()) {
    err << "buildgate: " << client.status().message() << "\n";
    return kExitBadInput;
  }
  absl::StatusOr<v1::DecideResponse> response;
  if (!flags.org.empty()) {
    v1::PolicySource source;
    source.set_org_id(flags.org);
    response = (*client)->Decide(source, *step);
  } else {
    auto set = LoadFile<v1::PolicySet>(flags.policy);
    if (!set.ok()) {
      err << "buildgate: " << set.status().message() << "\n";
      return kExitBadInput;
    }
    response = (*client)->DecideWithPolicy(*set, *step);
  }
  if (!response.ok()) {
    err << "buildgate: " << flags.client.target << ": "
        << absl::StatusCodeToString(response.status().code()) << ": " << response.status().message()
        << "\n";
    return ExitCodeForRpcError(response.status());
  }
  PrintDecision(response->decision(), flags.output, out);
  return ExitCodeForVerdict(response->decision().verdict());
}

int Health(const Flags& flags, std::ostream& out, std::ostream& err) {
  if (flags.client.target.empty()) {
    err << "buildgate health: --server is required\n";
    return kExitBadInput;
  }
  auto client = BuildGateClient::Create(flags.client);
  if (!client.ok()) {
    err << "buildgate: " << client.status().message() << "\n";
    return kExitBadInput;
  }
  auto health = (*client)->Health();
  if (!health.ok()) {
    err << "buildgate: " << flags.client.target << ": "
        << absl::StatusCodeToString(health.status().code()) << ": " << health.status().message() << "\n";
    return kExitUnavailable;
  }
  out << flags.client.target << ": " << *health << "\n";
  auto status = (*client)->ServerStatus();
  if (status.ok()) {
    out << "policy sets: " << status->policy_sets() << " from " << status->policy_dir()
        << " (last reload " << status->last_reload_at() << ", reloads ok " << status->reloads_ok()
        << ", failed " << status->reloads_failed() << ")\n";
    out << "inline policies: " << (status->inline_policies_allowed() ? "allowed" : "off")
        << ", cached: " << status->cache_entries() << "\n";
    for (const auto& e : status->file_errors()) out << "file error: " << e.file() << ": " << e.error() << "\n";
  }
  return *health == "SERVING" ? kExitAllow : kExitUnavailable;
}

int Decide(const Flags& flags, std::ostream& out, std::ostream& err) {
  if (flags.output != "text" && flags.output != "json" && flags.output != "yaml") {
    err << "buildgate decide: -o must be text, json or yaml\n";
    return kExitBadInput;
  }
  if (flags.step.empty()) {
    err << "buildgate decide: --step is required\n" << kUsage;
    return kExitBadInput;
  }
  if (!flags.client.target.empty()) return DecideRemote(flags, out, err);
  if (flags.policy.empty()) {
    err << "buildgate decide: --policy and --step are required\n" << kUsage;
    return kExitBadInput;
  }
  auto policy = LoadPolicy(flags.policy);
  if (!policy.ok()) {
    err << "buildgate: " << policy.status().message() << "\n";
    return kExitBadInput;
  }
  auto step = LoadFile<v1::BuildStep>(flags.step);
  if (!step.ok()) {
    err << "buildgate: " << step.status().message() << "\n";
    return kExitBadInput;
  }
  v1::Decision decision;
  absl::Status status = buildgate::Decide(**policy, *step, &decision);
  if (!status.ok()) {
    err << "buildgate: " << flags.step << ": " << status.message() << "\n";
    return kExitBadInput;
  }
  PrintDecision(decision, flags.output, out);
  return ExitCodeForVerdict(decision.verdict());
}

int Validate(const Flags& flags, std::ostream& out, std::ostream& err) {
  if (flags.policy.empty()) {
    err << "buildgate validate: --policy is required\n" << kUsage;
    return kExitBadInput;
  }
  if (!flags.client.target.empty()) {
    auto set = LoadFile<v1::PolicySet>(flags.policy);
    if (!set.ok()) {
      err << "buildgate: " << set.status().message() << "\n";
      return kExitBadInput;
    }
    auto client = BuildGateClient::Create(flags.client);
    if (!client.ok()) {
      err << "buildgate: " << client.status().message() << "\n";
      return kExitBadInput;
    }
    auto result = (*client)->ValidatePolicy(*set);
    if (!result.ok()) {
      err << "buildgate: " << flags.client.target << ": " << result.status().message() << "\n";
      return ExitCodeForRpcError(result.status());
    }
    if (!result->valid()) {
      err << "buildgate: " << flags.policy << ": " << result->error() << "\n";
      return kExitBadInput;
    }
    out << flags.policy << ": valid policy set (server " << flags.client.target << ", "
        << result->scopes_size() << " scopes, fingerprint " << result->fingerprint().substr(0, 16) << ")\n";
    return kExitAllow;
  }
  auto policy = LoadPolicy(flags.policy);
  if (!policy.ok()) {
    err << "buildgate: " << policy.status().message() << "\n";
    return kExitBadInput;
  }
  const auto& set = **policy;
  const std::size_t scopes = set.ScopeNames().size();
  out << flags.policy << ": valid policy set for org " << set.org_id() << " ("
      << scopes << " scope" << (scopes == 1 ? "" : "s")
      << ", revision \"" << set.revision() << "\", fingerprint "
      << set.fingerprint().substr(0, 16) << ")\n";
  return kExitAllow;
}

void Indented(std::string* out, const std::string& text, int indent) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    absl::StrAppend(out, std::string(indent, ' '), line, "\n");
  }
}

}  // namespace

int ExitCodeForVerdict(v1::Verdict verdict) {
  switch (verdict) {
    case v1::VERDICT_ALLOW: return kExitAllow;
    case v1::VERDICT_ALLOW_WITH_CHANGES: return kExitAllowWithChanges;
    case v1::VERDICT_DENY: return kExitDeny;
    default: return kExitInternal;
  }
}

std::string DecisionToText(const v1::Decision& d) {
  std::string out;
  absl::StrAppend(&out, "verdict:      ", EnumName(d.verdict()), "\n");
  if (d.builder() != v1::BUILDER_UNSPECIFIED) {
    absl::StrAppend(&out, "builder:      ", EnumName(d.builder()), " (",
                    d.harness_step_type(), " step, profile ", d.profile(), ")\n");
    absl::StrAppend(&out, "image:        ", d.image(), "\n");
    absl::StrAppend(&out, "privileged:   ", d.privileged() ? "true" : "false", "\n");
    absl::StrAppend(&out, "runAsUser:    ", d.run_as_user(), "\n");
    absl::StrAppend(&out, "pod security: ", EnumName(d.required_pod_security()),
                    " or looser\n");
  }
  absl::StrAppend(&out, "policy:       scope ", d.policy_scope(), ", revision \"",
                  d.policy_revision(), "\", fingerprint ", d.policy_fingerprint().substr(0, 16), "\n");
  if (!d.settings().empty()) {
    out += "settings:\n";
    for (const auto& s : d.settings()) {
      absl::StrAppend(&out, "  ", s.name(), "=", s.value(), "  (", EnumName(s.scope()), ")\n");
    }
  }
  if (!d.changes().empty()) {
    out += "changes:\n";
    for (const auto& c : d.changes()) {
      absl::StrAppend(&out, "  ", c.field(), ": ", c.proposed().empty() ? "(unset)" : c.proposed(),
                      " -> ", c.required(), "\n");
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
    Indented(&out, d.step_yaml(), 2);
  }
  if (!d.stage_variables_yaml().empty()) {
    out += "stage variables yaml:\n";
    Indented(&out, d.stage_variables_yaml(), 2);
  }
  return out;
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? kExitBadInput : kExitAllow;
  }
  Flags flags;
  if (!ParseFlags(args, 1, &flags, err)) {
    err << kUsage;
    return kExitBadInput;
  }
  if (args[0] == "decide") return Decide(flags, out, err);
  if (args[0] == "validate") return Validate(flags, out, err);
  if (args[0] == "health") return Health(flags, out, err);
  err << "buildgate: unknown command " << args[0] << "\n" << kUsage;
  return kExitBadInput;
}

int RunCli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return RunCli(args, std::cout, std::cerr);
}

}  // namespace buildgate
