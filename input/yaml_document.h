// One YAML (or JSON) document loaded within limits: the guard every reader
// of user files goes through before yaml-cpp builds a node. The text must be
// one document of valid UTF-8 without NUL or other control bytes, within
// `limits` (input/limits.h) in bytes, in YAML nodes counted after alias
// expansion (checked on the parser's events, before any node is built) and
// in nesting. Errors are kInvalidArgument "SOURCE:LINE:COLUMN: what".
//
// Used by proto_text.h (policy and step files) and by readers of other
// documents (Harness pipelines); nodes keep their marks (line, column) for
// located findings.
//
// Thread-safe: pure.
#ifndef BUILDGATE_INPUT_YAML_DOCUMENT_H_
#define BUILDGATE_INPUT_YAML_DOCUMENT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "input/limits.h"
#include "yaml-cpp/yaml.h"

namespace buildgate {

// The document's root node; an empty document is an error.
absl::StatusOr<YAML::Node> LoadBoundedYaml(absl::string_view text, absl::string_view source,
                                           const InputLimits& limits = InputLimits());

}  // namespace buildgate

#endif  // BUILDGATE_INPUT_YAML_DOCUMENT_H_
