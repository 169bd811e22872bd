// Input limits: how big, deep and long any input may be before buildgate
// refuses it, and the one check that enforces them on a parsed message.
//
// Every input (a policy or step file, an inline policy, a gRPC request) is
// bounded twice: by its size in bytes before it is parsed, and by the shape
// of the message it parses into (string lengths, list lengths, nesting).
// In a message, a `string` field holds one value (a name, a repo, a
// revision) and is bounded by max_string_bytes; a `bytes` field holds a
// whole document (a pipeline sent to LintPipeline or DiffPolicies) and is
// bounded by max_document_bytes, the limit the same file has on disk.
// YAML text is also bounded by its node count *after* alias expansion, which
// ParseYamlToMessage checks before building anything (input/proto_text.h).
// Hitting a limit is an INVALID_ARGUMENT that names the field and the limit,
// never an abort. The defaults are documented in docs/limits.md; buildgated
// exposes each as a flag.
//
// QuoteInput is the one way an error message quotes user input: a bounded,
// escaped prefix, so no error echoes unbounded or binary text.
//
// Thread-safe: InputLimits is a plain value; the functions are pure.
#ifndef BUILDGATE_INPUT_LIMITS_H_
#define BUILDGATE_INPUT_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace buildgate {

struct InputLimits {
  // A policy, step or pipeline file, or one document of text (bytes); also
  // every `bytes` field of a request (a document sent inline).
  std::size_t max_document_bytes = 1 << 20;
  // YAML nodes in one document after alias expansion.
  std::size_t max_yaml_nodes = 20000;
  // Nesting of mappings and lists in a document, and of messages in a request.
  int max_depth = 32;
  // One `string` field (bytes).
  std::size_t max_string_bytes = 8 * 1024;
  // One repeated field (items).
  std::size_t max_list_items = 1000;
};

// The flag that sets each limit, for error messages and docs.
inline constexpr absl::string_view kMaxDocumentBytesFlag = "max_document_bytes";
inline constexpr absl::string_view kMaxYamlNodesFlag = "max_yaml_nodes";
inline constexpr absl::string_view kMaxDepthFlag = "max_depth";
inline constexpr absl::string_view kMaxStringBytesFlag = "max_string_bytes";
inline constexpr absl::string_view kMaxListItemsFlag = "max_list_items";

// Checks every string's length (a `bytes` field's against
// max_document_bytes), repeated field's item count and nesting level of
// `message` against `limits`. (UTF-8 is checked where input enters:
// on the text by ParseYamlToMessage, on the wire by protobuf's parser.) `path` prefixes field
// paths in errors ("policy.inline_policy"). Returns kInvalidArgument
// "PATH.FIELD: ... (limit NAME = N)" for the first violation.
absl::Status CheckMessageLimits(const google::protobuf::Message& message, absl::string_view path,
                                const InputLimits& limits);

// How deep messages of `type` can nest (1 for a message without message
// fields; INT_MAX for a recursive type). Pure; callers keep the answer.
int SchemaDepth(const google::protobuf::Descriptor& type);

// True when a message `wire_bytes` long on the wire, of a type whose
// SchemaDepth is `schema_depth`, cannot break `limits`' string, list or
// depth limits, so CheckMessageLimits may be skipped: every string and every
// list item takes at least a byte on the wire. This keeps the check off a
// typical request's path.
bool SizeProvesLimits(std::size_t wire_bytes, int schema_depth, const InputLimits& limits);

// The first violation of UTF-8 in `text`: its byte offset, or npos.
std::size_t FindInvalidUtf8(absl::string_view text);

// `text` for an error message: double-quoted, control and non-ASCII bytes
// escaped, at most kQuoteInputMax bytes of it, then "…(N bytes)".
inline constexpr std::size_t kQuoteInputMax = 64;
std::string QuoteInput(absl::string_view text);

}  // namespace buildgate

#endif  // BUILDGATE_INPUT_LIMITS_H_
