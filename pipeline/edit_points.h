// Where a fix may edit a found build in its document's text. The pipeline
// reader records these points for every FoundBuild (FoundBuild::edit_points)
// and the fixer (lint/fix.h) turns a decision's changes into text edits at
// them: it replaces a scalar where it starts, adds a key before a mapping's
// first one at its indentation, or adds a stage variable; and when a step
// changes type it carries the step's own settings to the new step from the
// values' content (PlainValue). Nothing outside pipeline/ reads the
// document's YAML nodes.
//
// Offsets, lines and columns are 0-based, counted in the document's text
// (Location's are 1-based).
//
// Thread-safe: plain values.
#ifndef BUILDGATE_PIPELINE_EDIT_POINTS_H_
#define BUILDGATE_PIPELINE_EDIT_POINTS_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace buildgate::pipeline {

// A place in the document's text, 0-based.
struct TextPoint {
  std::size_t offset = 0;  // Bytes from the start of the text.
  int line = 0;
  int column = 0;
};

// A value's content as plain text, read to a bounded depth (kPlainValueDepth
// levels below the key that holds it; deeper values are kOther): what a fix
// needs to carry a step's settings to a step of another type.
struct PlainValue {
  enum class Kind { kNull, kScalar, kList, kMapping, kOther };
  Kind kind = Kind::kNull;
  bool flow_style = false;        // A list or mapping written `[...]` / `{...}`.
  std::string scalar;             // kScalar: its text, unquoted (`"true"` and `true` alike).
  std::vector<PlainValue> items;  // kList, in order.
  std::vector<std::pair<std::string, PlainValue>> entries;  // kMapping, in order.
};
inline constexpr int kPlainValueDepth = 3;  // spec.settings.build_args[i].

// The value of one key of a mapping.
struct ValuePoint {
  bool is_scalar = false;  // False for a list, a mapping or no value (`key:`).
  TextPoint start;         // Where a scalar's text starts (its quote when quoted).
  PlainValue content;      // What it holds: read for a step's spec only (kNull elsewhere).
};

// A mapping: where each of its keys and values is, and where a new key goes.
struct MappingPoints {
  bool is_mapping = false;  // False when absent, or not a mapping.
  bool flow_style = false;  // Written `{a: 1, ...}` (JSON): not edited in place.
  // Where the mapping starts. In block style that is its first key: a new
  // key goes there, `column` is the keys' indentation.
  TextPoint start;
  std::map<std::string, TextPoint, std::less<>> keys;     // Each key, where it is written.
  std::map<std::string, ValuePoint, std::less<>> values;  // Each key's value.
};

// One item of a `variables` list.
struct VariablePoints {
  std::string name;        // "" when the item is no mapping or its `name` no scalar.
  bool has_value = false;  // The item has a `value` key.
  ValuePoint value;
};

// A stage's `variables` list.
struct VariableListPoints {
  bool present = false;               // The stage has a `variables` value (not null).
  bool block_list = false;            // A block-style list (`- name: ...`): editable in place.
  TextPoint first_item;               // Its first item's '-' (block lists).
  std::vector<VariablePoints> items;  // Block lists, in order.
};

// Everything a fix of one found build may edit.
struct StepEditPoints {
  MappingPoints step;   // The step's mapping (`type`, `identifier`, `spec`, ...).
  MappingPoints spec;   // Its `spec` mapping, with its values' content.
  MappingPoints stage;  // Its stage's mapping (a step fragment has none).
  VariableListPoints stage_variables;
  // The containerSecurityContext of the infrastructure the step runs on,
  // when it is a mapping (Plugin and Build and Push steps).
  MappingPoints security_context;
};

}  // namespace buildgate::pipeline

#endif  // BUILDGATE_PIPELINE_EDIT_POINTS_H_
