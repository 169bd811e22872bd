#include "pipeline/internal/yaml_fields.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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

std::optional<LiteralMatrix> ReadLiteralMatrix(const YAML::Node& node) {
  if (!HasMatrix(node)) return std::nullopt;
  const YAML::Node matrix = node["strategy"]["matrix"];
  if (!matrix.IsMap()) return std::nullopt;  // <+input> or another expression.
  auto literal = [](const YAML::Node& value) {
    return value.IsScalar() && !ContainsHarnessExpression(value.Scalar());
  };
  LiteralMatrix out;
  for (const auto& entry : matrix) {
    if (!entry.first.IsScalar()) return std::nullopt;
    const std::string key = entry.first.Scalar();
    if (key == "maxConcurrency" || key == "nodeName") continue;
    if (key == "exclude") {
      if (!entry.second.IsSequence()) return std::nullopt;
      for (const YAML::Node& combination : entry.second) {
        if (!combination.IsMap()) return std::nullopt;
        std::map<std::string, std::string>& excluded = out.exclude.emplace_back();
        for (const auto& axis : combination) {
          if (!axis.first.IsScalar() || !literal(axis.second)) return std::nullopt;
          excluded[axis.first.Scalar()] = axis.second.Scalar();
        }
      }
      continue;
    }
    if (!entry.second.IsSequence() || entry.second.size() == 0) return std::nullopt;
    std::vector<std::string>& values = out.axes.emplace_back(key, std::vector<std::string>()).second;
    for (const YAML::Node& value : entry.second) {
      if (!literal(value)) return std::nullopt;
      values.push_back(value.Scalar());
    }
  }
  if (out.axes.empty()) return std::nullopt;
  return out;
}

std::optional<std::vector<std::map<std::string, std::string>>> MatrixCombinations(
    const std::vector<LiteralMatrix>& matrices, int limit) {
  std::vector<std::map<std::string, std::string>> combinations(1);
  for (const LiteralMatrix& matrix : matrices) {
    std::vector<std::map<std::string, std::string>> mine(1);
    for (const auto& [axis, values] : matrix.axes) {
      std::vector<std::map<std::string, std::string>> next;
      for (const auto& partial : mine) {
        for (const std::string& value : values) {
          next.push_back(partial);
          next.back()[axis] = value;
        }
      }
      mine = std::move(next);
      // Bounded before `exclude`: the product is what Harness expands.
      if (static_cast<int>(mine.size() * combinations.size()) > limit) return std::nullopt;
    }
    auto excluded = [&](const std::map<std::string, std::string>& c) {
      for (const auto& rule : matrix.exclude) {
        bool all = !rule.empty();
        for (const auto& [axis, value] : rule) {
          const auto it = c.find(axis);
          all = all && it != c.end() && it->second == value;
        }
        if (all) return true;
      }
      return false;
    };
    mine.erase(std::remove_if(mine.begin(), mine.end(), excluded), mine.end());
    std::vector<std::map<std::string, std::string>> product;
    for (const auto& outer : combinations) {
      for (const auto& inner : mine) {
        product.push_back(outer);
        product.back().insert(inner.begin(), inner.end());
      }
    }
    combinations = std::move(product);
  }
  return combinations;
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
