// Helpers every `buildgate` command shares: reading inputs (files,
// directories, `-`), loading a policy, exit codes, connecting to buildgated
// and its common flags. Internal to client/ (cli.cc, lint_command.cc).
//
// Thread-compatible: pure functions over their arguments.
#ifndef BUILDGATE_CLIENT_CLI_COMMON_H_
#define BUILDGATE_CLIENT_CLI_COMMON_H_

#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/buildgate_client.h"
#include "client/exit_codes.h"
#include "common/file.h"
#include "common/status.h"
#include "engine/compiled_policy.h"
#include "input/limits.h"
#include "input/proto_text.h"
#include "google/protobuf/message.h"

namespace buildgate {

inline constexpr char kStdin[] = "-";

// `paths` with each directory replaced by its *.yaml, *.yml and *.json files
// (sorted; `recursive`: also in its subdirectories, `.git` skipped), and
// its symbolic links with those names that lead nowhere (a missing target,
// a loop), so that reading them reports the error. Errors name the path: a
// directory with no such file, or `-` given twice (standard input can be
// read once).
absl::StatusOr<std::vector<std::string>> ExpandInputs(const std::vector<std::string>& paths,
                                                      absl::string_view flag,
                                                      bool recursive = false);

// The text of `path`, or of standard input for `-`, at most `max_bytes`.
absl::StatusOr<std::string> ReadInput(const std::string& path, std::istream& in,
                                      std::size_t max_bytes = kDefaultMaxFileBytes);

// --max_document_bytes and --max_yaml_nodes into `limits` (pipeline
// documents can be large; the defaults are input/limits.h's).
void AddDocumentLimitOptions(CLI::App* cmd, InputLimits* limits);

// `path` as messages name it ("<stdin>" for `-`).
std::string SourceName(const std::string& path);

// A message parsed from a YAML or JSON file.
template <typename M>
absl::StatusOr<M> LoadMessage(const std::string& path, std::istream& in) {
  BG_ASSIGN_OR_RETURN(const std::string text, ReadInput(path, in));
  M message;
  BG_RETURN_IF_ERROR(ParseYamlToMessage(text, SourceName(path), &message));
  return message;
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> LoadPolicy(const std::string& path,
                                                                    std::istream& in);

// Exit code for a failed remote call.
int ExitCodeForRpcError(const absl::Status& status);

// `m` as YAML, or JSON for output "json".
void PrintMessage(const google::protobuf::Message& m, const std::string& output,
                  std::ostream& out);

// A client for `options`, or nullptr having said why (bad TLS files, no
// --server).
std::unique_ptr<BuildGateClient> Connect(const ClientOptions& options, std::ostream& err);

// Prints a failed call's code and message, and a hint where the message
// alone misleads: a client certificate the server refused reads "Socket
// closed" under TLS 1.3.
void PrintRpcError(const ClientOptions& c, const absl::Status& status, std::ostream& err);

// --server, --timeout, --tls_* and --caller.
void AddRemoteOptions(CLI::App* cmd, ClientOptions* c, bool server_required);

}  // namespace buildgate

#endif  // BUILDGATE_CLIENT_CLI_COMMON_H_
