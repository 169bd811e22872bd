// Internal to pipeline/ (only pipeline/*.cc and tests/pipeline/* include
// it): reading one field of a pipeline document's YAML, located. Every part
// of the reader reads text, true/false and user ids through a FieldReader,
// so that a value is read one way and an error is worded one way:
// kInvalidArgument "FILE:LINE:COLUMN: YAML.PATH: what".
//
// Values holding a Harness expression ("<+input>") are never read as false
// or 0: the field stays unset and is listed as Unresolved.
//
// Thread-safe: a FieldReader is immutable once made; the functions are pure.
#ifndef BUILDGATE_PIPELINE_INTERNAL_YAML_FIELDS_H_
#define BUILDGATE_PIPELINE_INTERNAL_YAML_FIELDS_H_

#include <cstdint>
#include <optional>
#include <map>
#include <utility>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pipeline/harness_pipeline.h"
#include "yaml-cpp/yaml.h"

namespace buildgate::pipeline::internal {

// "path.key"; just "key" when `path` is empty (a document's root).
std::string JoinPath(absl::string_view path, absl::string_view key);

// Points `*dst` at `src` (a missing child becomes a null node). Never
// `dst = src`: yaml-cpp's Node::operator= writes through an already bound
// node into the document instead of rebinding it.
void BindNode(YAML::Node* dst, const YAML::Node& src);

// True when `node` (a stage, step group or step) has a `strategy.matrix`.
bool HasMatrix(const YAML::Node& node);

// A `strategy.matrix` with its axes written out: each axis and its values,
// and the combinations its `exclude` removes.
struct LiteralMatrix {
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  std::vector<std::map<std::string, std::string>> exclude;
};

// `node`'s matrix when every axis is a list of literal scalars (no
// expression); nullopt when it has none or one that is not written out.
// `maxConcurrency` and `nodeName` are no axes.
std::optional<LiteralMatrix> ReadLiteralMatrix(const YAML::Node& node);

// Every combination of `matrices` (one value of each axis of each), those
// an `exclude` of their matrix names removed, in order; nullopt past
// `limit` combinations.
std::optional<std::vector<std::map<std::string, std::string>>> MatrixCombinations(
    const std::vector<LiteralMatrix>& matrices, int limit);

// The identifier `id` as the engine takes it: "" for none or an
// expression; an identifier Harness refuses is sanitized and, when
// `invalid` is given, listed there as {field, id}.
std::string EngineIdentifier(const std::string& id, absl::string_view field,
                             std::vector<Unresolved>* invalid);

class FieldReader {
 public:
  // `file` names the document in errors.
  explicit FieldReader(absl::string_view file) : file_(file) {}

  // "FILE:LINE:COLUMN: PATH: what" at `node` (no "PATH: " when `path` is "").
  absl::Status Error(const YAML::Node& node, absl::string_view path, absl::string_view what) const;

  // Where `node` is, 1-based, with its YAML path.
  Location At(const YAML::Node& node, std::string path) const;

  // The scalar `map[key]` as written; "" when absent or null. An error
  // when it is a list or a mapping. `path` is the map's YAML path.
  absl::StatusOr<std::string> Text(const YAML::Node& map, absl::string_view key,
                                   absl::string_view path) const;

  // `map[key]` as true/false (any case); nullopt when absent, or when it
  // holds an expression (then listed in `unresolved` as `field`, of `kind`).
  absl::StatusOr<std::optional<bool>> Bool(const YAML::Node& map, absl::string_view key,
                                           absl::string_view path, absl::string_view field,
                                           std::vector<Unresolved>* unresolved,
                                           UnknownValue kind = UnknownValue::kOther) const;

  // `map[key]` as a user id from 0 to kMaxUid (an integer or a string
  // holding one); nullopt when absent or an expression (listed as `field`).
  absl::StatusOr<std::optional<int64_t>> Uid(const YAML::Node& map, absl::string_view key,
                                             absl::string_view path, absl::string_view field,
                                             std::vector<Unresolved>* unresolved) const;

 private:
  std::string file_;
};

}  // namespace buildgate::pipeline::internal

#endif  // BUILDGATE_PIPELINE_INTERNAL_YAML_FIELDS_H_
