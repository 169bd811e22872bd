#include "client/cli_common.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "common/command_line.h"
#include "common/file.h"

namespace buildgate {


absl::StatusOr<std::vector<std::string>> ExpandInputs(const std::vector<std::string>& paths,
                                                      absl::string_view flag, bool recursive) {
  std::vector<std::string> out;
  int stdin_uses = 0;
  for (const std::string& path : paths) {
    if (path == kStdin) {
      if (++stdin_uses > 1) return InvalidField(flag, "- (standard input) can be given once");
      out.push_back(path);
      continue;
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      out.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    auto consider = [&](const std::filesystem::directory_entry& entry) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".yaml" && ext != ".yml" && ext != ".json") return;
      // A symbolic link that leads nowhere (missing target, loop) is kept:
      // reading it reports why, instead of a clean run without it.
      std::error_code unresolved, ignored;
      const std::filesystem::file_type type = entry.status(unresolved).type();
      const bool leads_nowhere = unresolved || type == std::filesystem::file_type::not_found;
      if (type == std::filesystem::file_type::regular ||
          (leads_nowhere && entry.is_symlink(ignored))) {
        found.push_back(entry.path().string());
      }
    };
    if (recursive) {
      auto it = std::filesystem::recursive_directory_iterator(path, ec);
      for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory(ec) && it->path().filename() == ".git") {
          it.disable_recursion_pending();
          continue;
        }
        consider(*it);
      }
    } else {
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) consider(entry);
    }
    if (ec) return InvalidField(flag, absl::StrCat(path, ": cannot list: ", ec.message()));
    if (found.empty()) {
      return InvalidField(flag,
                          absl::StrCat(path, ": a directory with no *.yaml, *.yml or *.json file"));
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

absl::StatusOr<std::string> ReadInput(const std::string& path, std::istream& in,
                                      std::size_t max_bytes) {
  if (path != kStdin) return ReadFileToString(path, max_bytes);
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("-: standard input is larger than ", max_bytes, " bytes"));
    }
  }
  return text;
}

void AddDocumentLimitOptions(CLI::App* cmd, InputLimits* limits) {
  cmd->add_option("--max_document_bytes", limits->max_document_bytes,
                  "Largest document read (bytes)")
      ->capture_default_str();
  cmd->add_option("--max_yaml_nodes", limits->max_yaml_nodes,
                  "Most YAML nodes in one document, after alias expansion (a 1,000-step "
                  "pipeline has about 25,000)")
      ->capture_default_str();
}

std::string SourceName(const std::string& path) { return path == kStdin ? "<stdin>" : path; }

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> LoadPolicy(const std::string& path,
                                                                    std::istream& in) {
  BG_ASSIGN_OR_RETURN(const std::string text, ReadInput(path, in));
  return CompiledPolicySet::ParseAndCompile(text, SourceName(path));
}


int ExitCodeForRpcError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kResourceExhausted:
      return kExitBadInput;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnauthenticated:
      return kExitUnavailable;
    default:
      return kExitInternal;
  }
}

void PrintMessage(const google::protobuf::Message& m, const std::string& output,
                  std::ostream& out) {
  out << (output == "json" ? MessageToJson(m) : MessageToYaml(m));
}

std::unique_ptr<BuildGateClient> Connect(const ClientOptions& options, std::ostream& err) {
  // --timeout is how long a command waits, retries of a draining or
  // restarting replica included.
  ClientOptions with_window = options;
  with_window.retry_window = options.deadline;
  auto client = BuildGateClient::Create(with_window);
  if (!client.ok()) {
    err << "buildgate: " << client.status().message() << "\n";
    return nullptr;
  }
  return *std::move(client);
}

void PrintRpcError(const ClientOptions& c, const absl::Status& status, std::ostream& err) {
  err << "buildgate: " << c.target << ": " << absl::StatusCodeToString(status.code()) << ": "
      << status.message() << "\n";
  // With TLS 1.3 a server that refuses the client's certificate closes the
  // connection after the handshake; all the client sees is "Socket closed".
  if (!c.tls_ca.empty() && status.code() == absl::StatusCode::kUnavailable &&
      absl::StrContains(status.message(), "Socket closed")) {
    err << "buildgate: over TLS this is also how a server refuses the client certificate: "
        << (c.tls_cert.empty() ? "none was given (--tls_cert, --tls_key)"
                               : "is " + c.tls_cert + " signed by the server's --tls_client_ca?")
        << " The server's log says why (\"Handshake failed\").\n";
  }
}

void AddRemoteOptions(CLI::App* cmd, ClientOptions* c, bool server_required) {
  CLI::Option* server =
      cmd->add_option("--server", c->target,
                      "buildgated address: HOST:PORT, unix:/PATH, dns:///NAME:PORT (every "
                      "replica behind a headless Service) or ipv4:ADDR:PORT,ADDR:PORT")
          ->type_name("ADDR");
  if (server_required) server->required();
  AddDurationOption(cmd, "--timeout", &c->deadline,
                    "How long to wait for an answer, retrying a replica that is draining or "
                    "restarting");
  cmd->add_option("--tls_ca", c->tls_ca, "CA certificate (PEM) to verify the server: use TLS")
      ->type_name("FILE");
  cmd->add_option("--tls_cert", c->tls_cert, "Client certificate (PEM), for mutual TLS")
      ->type_name("FILE");
  cmd->add_option("--tls_key", c->tls_key, "Client private key (PEM), for mutual TLS")
      ->type_name("FILE");
  cmd->add_option("--tls_server_name", c->tls_server_name,
                  "Name to expect in the server certificate");
  cmd->add_option("--caller", c->caller, "Who is calling, shown in the server's decision log");
}

}  // namespace buildgate
