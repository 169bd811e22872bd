// Internal to pipeline/ (only pipeline/*.cc and tests/pipeline/* include
// it): the edit points (pipeline/edit_points.h) of YAML nodes, read from
// their marks.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_PIPELINE_INTERNAL_EDIT_POINT_READER_H_
#define BUILDGATE_PIPELINE_INTERNAL_EDIT_POINT_READER_H_

#include "pipeline/edit_points.h"
#include "yaml-cpp/yaml.h"

namespace buildgate::pipeline::internal {

// Where `node` starts.
TextPoint PointOf(const YAML::Node& node);

// `node`'s points: its keys and values when it is a mapping; a mapping's
// entries whose keys are no scalars are left out. Not a mapping (or null):
// is_mapping false, nothing else. `with_content`: each value's content too
// (ValuePoint::content; for a step's spec, which a change of step type
// carries; other mappings would copy whole stages).
MappingPoints MappingPointsOf(const YAML::Node& node, bool with_content = false);

// A `variables` list's points; `variables` may be null (the stage has none).
VariableListPoints VariableListPointsOf(const YAML::Node& variables);

}  // namespace buildgate::pipeline::internal

#endif  // BUILDGATE_PIPELINE_INTERNAL_EDIT_POINT_READER_H_
