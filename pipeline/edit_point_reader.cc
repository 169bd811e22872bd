#include "pipeline/internal/edit_point_reader.h"

#include <string>

namespace buildgate::pipeline::internal {
namespace {

PlainValue PlainValueOf(const YAML::Node& node, int depth) {
  PlainValue value;
  using Kind = PlainValue::Kind;
  if (!node || node.IsNull()) return value;
  if (depth <= 0) {
    value.kind = Kind::kOther;
    return value;
  }
  if (node.IsScalar()) {
    value.kind = Kind::kScalar;
    value.scalar = node.Scalar();
    return value;
  }
  value.flow_style = node.Style() == YAML::EmitterStyle::Flow;
  if (node.IsSequence()) {
    value.kind = Kind::kList;
    for (const YAML::Node& item : node) value.items.push_back(PlainValueOf(item, depth - 1));
    return value;
  }
  if (node.IsMap()) {
    value.kind = Kind::kMapping;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        value.kind = Kind::kOther;  // A key that is no text cannot be carried.
        value.entries.clear();
        return value;
      }
      value.entries.emplace_back(it->first.Scalar(), PlainValueOf(it->second, depth - 1));
    }
    return value;
  }
  value.kind = Kind::kOther;
  return value;
}

ValuePoint ValuePointOf(const YAML::Node& value, bool with_content) {
  ValuePoint point;
  point.is_scalar = value.IsScalar();
  if (point.is_scalar) point.start = PointOf(value);
  if (with_content) point.content = PlainValueOf(value, kPlainValueDepth);
  return point;
}

}  // namespace

TextPoint PointOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return TextPoint{static_cast<std::size_t>(mark.pos), mark.line, mark.column};
}

MappingPoints MappingPointsOf(const YAML::Node& node, bool with_content) {
  MappingPoints points;
  if (!node || !node.IsMap()) return points;
  points.is_mapping = true;
  points.flow_style = node.Style() == YAML::EmitterStyle::Flow;
  points.start = PointOf(node);
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& key = it->first.Scalar();
    points.keys.emplace(key, PointOf(it->first));
    points.values.emplace(key, ValuePointOf(it->second, with_content));
  }
  return points;
}

VariableListPoints VariableListPointsOf(const YAML::Node& variables) {
  VariableListPoints points;
  if (!variables.IsDefined()) return points;
  points.present = variables.IsDefined() && !variables.IsNull();
  points.block_list = variables.IsSequence() && variables.Style() != YAML::EmitterStyle::Flow;
  if (!points.block_list) return points;
  points.first_item = PointOf(variables);
  for (const YAML::Node& item : variables) {
    VariablePoints& out = points.items.emplace_back();
    if (!item.IsMap()) continue;
    const YAML::Node name = item["name"];
    if (name && name.IsScalar()) out.name = name.Scalar();
    if (const YAML::Node value = item["value"]) {
      out.has_value = true;
      out.value = ValuePointOf(value, false);
    }
  }
  return points;
}

}  // namespace buildgate::pipeline::internal
