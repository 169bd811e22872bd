// Where an input error is, as data: the file, line, column, field path and
// offending value of an absl::Status, carried as a payload so that readers
// (the gRPC edge's google.rpc.BadRequest, the CLI's JSON error object, SARIF)
// never parse a message back. Messages people read are unchanged: every
// helper here writes the message exactly as the code wrote it by hand before
// ("FILE:LINE:COLUMN: FIELD: what") and keeps the payload in step with it.
//
// The payload is a serialized buildgate.v1.InputError (proto/buildgate/v1/
// common.proto) under kInputErrorTypeUrl, so any protobuf reader can decode
// it. It is encoded here by hand (a few strings and varints of the protobuf
// wire format) so that common/ stays below the proto library and links only
// Abseil; tests/common/input_error_test.cc checks the bytes against the
// generated message both ways.
//
// The contract: a payload's `field` is the field the message names first
// (what InvalidField writes), `file` the file it names first. Nesting helpers
// (WithFieldPrefix, WithField, WithFile, ReplaceFieldPrefix) update both.
// Values are quoted by QuoteValue (bounded, control bytes escaped) and never
// carried for credential-like fields (IsCredentialField).
//
// Thread-safe: pure functions; absl::Status is a value.
#ifndef BUILDGATE_COMMON_INPUT_ERROR_H_
#define BUILDGATE_COMMON_INPUT_ERROR_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace buildgate {

inline constexpr char kInputErrorTypeUrl[] = "type.googleapis.com/buildgate.v1.InputError";

// The structured part of an input error; empty strings and 0 are unknown.
struct InputLocation {
  std::string file;    // As messages name it ("acme.yaml", "<stdin>").
  int line = 0;        // 1-based.
  int column = 0;      // 1-based, in characters.
  std::string field;   // "policy.root", "steps[3].repo", "pipeline.stages[0]".
  std::string value;   // Quoted by QuoteValue; never a credential's value.

  bool empty() const { return file.empty() && line == 0 && column == 0 && field.empty() && value.empty(); }
  bool operator==(const InputLocation& o) const {
    return file == o.file && line == o.line && column == o.column && field == o.field && value == o.value;
  }
};

// Longest value quoted (bytes of input, before escaping).
inline constexpr std::size_t kQuoteValueMax = 64;

// `text` double-quoted with quotes, backslashes, control and non-ASCII bytes
// C-escaped (octal: "\001", never an ambiguous "\x1a"), at most
// kQuoteValueMax bytes of it, then "…(N bytes)".
std::string QuoteValue(absl::string_view text);

// Whether a field path names a credential (password, secret, token, key,
// credential, auth): its value is never carried.
bool IsCredentialField(absl::string_view field);

// `line` for an error about the whole file: no ":LINE:COLUMN" in the message.
inline constexpr int kNoPosition = -1;

// kInvalidArgument (or `code`) "FILE:LINE:COLUMN: FIELD: what", with
// ":LINE:COLUMN" left out when `line` is kNoPosition and "FIELD: " when
// `field` is empty, and the payload saying the same. A line or column below
// 1 (yaml-cpp's mark of a node it has no position for, plus one) is printed
// as it was ("FILE:0:0: ...") and carried as 0, unknown.
absl::Status LocatedError(absl::string_view file, int line, int column, absl::string_view field,
                          absl::string_view what,
                          absl::StatusCode code = absl::StatusCode::kInvalidArgument);

// The payload of `status`, or an empty location (OK, or none attached).
InputLocation GetInputLocation(const absl::Status& status);

// `status` with `location` as its payload (replacing any); the message is
// not touched. An OK status is returned as it is; so is one given an empty
// location, without payload.
absl::Status SetInputLocation(absl::Status status, const InputLocation& location);

// `status` with `raw` quoted (QuoteValue) as the offending value, unless its
// field is credential-like. The message is not touched.
absl::Status WithValue(absl::Status status, absl::string_view raw);

// Nests a field path: "policy.root: required" with prefix "policy_set."
// becomes "policy_set.policy.root: required", field "policy_set.policy.root"
// (with no field known: the prefix without its trailing '.').
absl::Status WithFieldPrefix(const absl::Status& status, absl::string_view prefix);

// Names the field that holds what failed: "x.yaml:3:46: illegal flow end"
// under "document" becomes "document: x.yaml:3:46: illegal flow end", field
// "document" (the file, line and column stay).
absl::Status WithField(const absl::Status& status, absl::string_view field);

// Names the file: "policy.root: required" in "acme.yaml" becomes
// "acme.yaml: policy.root: required", file "acme.yaml" (unless the payload
// names a file already: then only the message changes).
absl::Status WithFile(const absl::Status& status, absl::string_view file);

// Replaces the leading `from` of the message, and of the field when it
// starts with it: "step.kind: required" from "step." to "steps[3]." is
// "steps[3].kind: required". A message not starting with `from` is returned
// unchanged.
absl::Status ReplaceFieldPrefix(const absl::Status& status, absl::string_view from,
                                absl::string_view to);

// The protobuf wire format of buildgate.v1.InputError with these fields
// (message left empty), and back (nullopt for bytes that are not one).
std::string EncodeInputLocation(const InputLocation& location);
std::optional<InputLocation> DecodeInputLocation(absl::string_view bytes);

}  // namespace buildgate

#endif  // BUILDGATE_COMMON_INPUT_ERROR_H_
