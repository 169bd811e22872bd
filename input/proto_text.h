// Mapping between YAML/JSON text and protobuf messages.
//
// Input follows the proto3 JSON mapping: field names in lowerCamelCase (the
// json_name) or snake_case, enum values by name, 64-bit integers as numbers or
// quoted strings (Harness writes runAsUser: "1000"). JSON is read as YAML.
// Every error names the source, line, column and field path, e.g.
//   acme.yaml:7:5: policy.root: unknown value "NEVER" for buildgate.v1.RootRule
//   (expected one of ROOT_ALLOWED, ROOT_BUILD_STEP_ONLY, ROOT_FORBIDDEN)
// and nothing is half loaded: on error the output message is left cleared.
//
// Hostile text is refused before it costs memory (input/yaml_document.h:
// one document of valid UTF-8 without control bytes, within `limits` in
// bytes, in YAML nodes counted *after* alias expansion and in nesting); the
// parsed message must pass CheckMessageLimits. A second
// document or trailing text after a JSON document is an error.
//
// Output is deterministic (fields in field-number order, enums by name,
// camelCase names), so the same message always yields the same bytes.
//
// Thread-safe: all functions are pure.
#ifndef BUILDGATE_INPUT_PROTO_TEXT_H_
#define BUILDGATE_INPUT_PROTO_TEXT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "input/limits.h"
#include "google/protobuf/message.h"

namespace buildgate {

// Parses a YAML (or JSON) document into `out`. `source` names the text in
// errors (usually the file path). Returns kInvalidArgument on any error.
absl::Status ParseYamlToMessage(absl::string_view text, absl::string_view source,
                                google::protobuf::Message* out,
                                const InputLimits& limits = InputLimits());

// Renders `message` as block-style YAML.
std::string MessageToYaml(const google::protobuf::Message& message);

// Renders `message` as indented JSON (proto3 JSON mapping).
std::string MessageToJson(const google::protobuf::Message& message);

// Binary serialization with deterministic map ordering: the same message
// always gives the same bytes (fingerprints, interning keys).
std::string DeterministicSerialization(const google::protobuf::Message& message);

}  // namespace buildgate

#endif  // BUILDGATE_INPUT_PROTO_TEXT_H_
