#include "pipeline/internal/yaml_fields.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/input_error.h"
#include "common/status.h"
#include "grammar/expression.h"
#include "input/limits.h"
#include "engine/policy.h"

namespace buildgate::pipeline::internal {

std::string JoinPath(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

void BindNode(YAML::Node* dst, const YAML::Node& src) {
  if (src) {
    dst->reset(src);
  } else {
    dst->reset();
  }
}

bool HasMatrix(const YAML::Node& node) {
  const YAML::Node strategy = node["strategy"];
  return strategy && strategy.IsMap() && strategy["matrix"];
}

std::string EngineIdentifier(const std::string& id, absl::string_view field,
                             std::vector<Unresolved>* invalid) {
  if (id.empty() || ContainsHarnessExpression(id)) return std::string();
  if (IsHarnessIdentifier(id)) return id;
  if (invalid != nullptr) invalid->push_back({std::string(field), id});
  return SanitizeHarnessIdentifier(id);
}

absl::Status FieldReader::Error(const YAML::Node& node, absl::string_view path,
                                absl::string_view what) const {
  const YAML::Mark mark = node.Mark();
  return LocatedError(file_, mark.line + 1, mark.column + 1, path, what);
}

Location FieldReader::At(const YAML::Node& node, std::string path) const {
  const YAML::Mark mark = node.Mark();
  return Location{mark.line + 1, mark.column + 1, std::move(path)};
}

absl::StatusOr<std::string> FieldReader::Text(const YAML::Node& map, absl::string_view key,
                                              absl::string_view path) const {
  const YAML::Node node = map[std::string(key)];
  if (!node || node.IsNull()) return std::string();
  if (!node.IsScalar()) return Error(node, JoinPath(path, key), "expected a single value");
  return node.Scalar();
}

absl::StatusOr<std::optional<bool>> FieldReader::Bool(const YAML::Node& map, absl::string_view key,
                                                      absl::string_view path,
                                                      absl::string_view field,
                                                      std::vector<Unresolved>* unresolved,
                                                      UnknownValue kind) const {
  BG_ASSIGN_OR_RETURN(const std::string text, Text(map, key, path));
  if (text.empty()) return std::optional<bool>();
  if (ContainsHarnessExpression(text)) {
    unresolved->push_back({std::string(field), text, kind});
    return std::optional<bool>();
  }
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "true") return std::optional<bool>(true);
  if (lower == "false") return std::optional<bool>(false);
  return Error(map[std::string(key)], JoinPath(path, key),
               absl::StrCat("expected true or false, not ", QuoteInput(text)));
}

absl::StatusOr<std::optional<int64_t>> FieldReader::Uid(const YAML::Node& map,
                                                        absl::string_view key,
                                                        absl::string_view path,
                                                        absl::string_view field,
                                                        std::vector<Unresolved>* unresolved) const {
  BG_ASSIGN_OR_RETURN(const std::string text, Text(map, key, path));
  if (text.empty()) return std::optional<int64_t>();
  if (ContainsHarnessExpression(text)) {
    unresolved->push_back({std::string(field), text});
    return std::optional<int64_t>();
  }
  int64_t uid = 0;
  if (!absl::SimpleAtoi(text, &uid) || uid < 0 || uid > kMaxUid) {
    return Error(
        map[std::string(key)], JoinPath(path, key),
        absl::StrCat("expected a user id from 0 to ", kMaxUid, ", not ", QuoteInput(text)));
  }
  return std::optional<int64_t>(uid);
}

}  // namespace buildgate::pipeline::internal
