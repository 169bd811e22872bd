#include "lint/fix.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/render.h"

namespace buildgate::lint {
namespace {

// Line starts of a text, to turn offsets into 1-based lines and columns.
class Lines {
 public:
  explicit Lines(absl::string_view text) : text_(text) {
    starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
  }
  // 0-based line of `offset`.
  int LineOf(std::size_t offset) const {
    return static_cast<int>(std::upper_bound(starts_.begin(), starts_.end(), offset) -
                            starts_.begin()) -
           1;
  }
  std::size_t Start(int line) const {
    return line < static_cast<int>(starts_.size()) ? starts_[line] : text_.size();
  }
  int count() const { return static_cast<int>(starts_.size()); }
  absl::string_view Line(int line) const {
    const std::size_t begin = Start(line);
    std::size_t end = Start(line + 1);
    if (end > begin && end <= text_.size() && text_[end - 1] == '\n') --end;
    return text_.substr(begin, end - begin);
  }

 private:
  absl::string_view text_;
  std::vector<std::size_t> starts_;
};

// Indentation of a line, or -1 for a blank or comment-only line.
int Indent(absl::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i == line.size() || line[i] == '#' || line[i] == '\r') return -1;
  return static_cast<int>(i);
}

// Plans the edits of each finding from the edit points the pipeline reader
// recorded for its build (pipeline/edit_points.h).
class Planner {
 public:
  Planner(absl::string_view text) : text_(text), lines_(text) {}

  void Finding(int index, const v1::Finding& f, const pipeline::FoundBuild& b, FileFix* out) {
    const pipeline::StepEditPoints& points = b.edit_points;
    FindingFix fix;
    fix.finding = index;
    const v1::Decision& d = f.decision();
    if (absl::StrContains(d.step_yaml(), kRedacted)) {
      fix.skipped = "the step has plaintext credentials; fix them by hand";
    } else if (points.step.flow_style) {
      fix.skipped = "flow-style (JSON) documents are not edited in place";
    } else {
      bool spec_replaced = false;
      for (const v1::Change& c : f.changes()) {
        if (c.field() == "type") {
          spec_replaced = ReplaceSpec(points.step, d, &fix);
          if (!spec_replaced) break;
          SetScalar(points.step, "type", c.required(), &fix);
        }
      }
      for (const v1::Change& c : f.changes()) {
        if (!fix.skipped.empty()) break;
        FixChange(c, points, spec_replaced, &fix);
      }
      if (fix.skipped.empty() && fix.edits.empty()) fix.skipped = "nothing buildgate can edit";
    }
    if (!fix.skipped.empty()) fix.edits.clear();
    out->findings.push_back(std::move(fix));
  }

 private:
  void FixChange(const v1::Change& c, const pipeline::StepEditPoints& points, bool spec_replaced,
                 FindingFix* fix) {
    const std::string& field = c.field();
    if (field == "builder" || field == "type") return;  // Follows from type and image.
    if (absl::StartsWith(field, "spec.")) {
      if (spec_replaced) return;
      const std::string key = field.substr(5);
      if (key.find('.') != std::string::npos) {
        fix->skipped = absl::StrCat(field, " cannot be edited in place");
        return;
      }
      SetKey(points.spec, key, c.required(), fix);
      return;
    }
    if (field == "identifier") {
      SetScalar(points.step, "identifier", c.required(), fix);
      return;
    }
    constexpr absl::string_view kStageVariable = "stage.variables.";
    if (absl::StartsWith(field, kStageVariable)) {
      StageVariable(points, field.substr(kStageVariable.size()), c.required(), fix);
      return;
    }
    constexpr absl::string_view kContext = "infrastructure.containerSecurityContext.";
    if (absl::StartsWith(field, kContext)) {
      const std::string key = field.substr(kContext.size());
      if (!points.security_context.is_mapping || key.find('.') != std::string::npos) {
        fix->skipped = absl::StrCat(field, " must be changed by hand (", c.proposed(), " -> ",
                                    c.required(), ")");
        return;
      }
      SetKey(points.security_context, key, c.required(), fix);
      return;
    }
    fix->skipped = absl::StrCat(field, " must be changed by hand");
  }

  // The span of a scalar's text starting at `begin`: quoted as written, or
  // plain up to a comment or the end of its line.
  std::pair<std::size_t, std::size_t> ScalarSpan(std::size_t begin) const {
    std::size_t end = begin;
    if (begin < text_.size() && (text_[begin] == '"' || text_[begin] == '\'')) {
      const char quote = text_[begin];
      end = begin + 1;
      while (end < text_.size()) {
        if (quote == '"' && text_[end] == '\\') {
          end += 2;
          continue;
        }
        if (text_[end] == quote) {
          if (quote == '\'' && end + 1 < text_.size() && text_[end + 1] == '\'') {
            end += 2;
            continue;
          }
          ++end;
          break;
        }
        ++end;
      }
      return {begin, std::min(end, text_.size())};
    }
    while (end < text_.size() && text_[end] != '\n' &&
           !(text_[end] == '#' && end > begin && text_[end - 1] == ' ')) {
      ++end;
    }
    while (end > begin && (text_[end - 1] == ' ' || text_[end - 1] == '\r')) --end;
    return {begin, end};
  }

  // `value` written as the scalar starting at `pos` was (quoted stays quoted).
  std::string Written(std::size_t pos, absl::string_view value) const {
    if (pos < text_.size() && text_[pos] == '"') return absl::StrCat("\"", value, "\"");
    if (pos < text_.size() && text_[pos] == '\'') return absl::StrCat("'", value, "'");
    // A plain boolean or number stays plain.
    if (value == "true" || value == "false" ||
        (!value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
          return c >= '0' && c <= '9';
        }))) {
      return std::string(value);
    }
    return YamlScalar(value);
  }

  // Replaces the scalar `key` holds (`current`) by `value`.
  void ReplaceScalar(const pipeline::ValuePoint& current, absl::string_view key,
                     absl::string_view value, FindingFix* fix) {
    if (!current.is_scalar) {
      fix->skipped = absl::StrCat(key, " is not a plain value");
      return;
    }
    const auto [begin, end] = ScalarSpan(current.start.offset);
    Edit(begin, end, Written(current.start.offset, value), fix);
  }

  // Replaces the scalar value of `map[key]`.
  void SetScalar(const pipeline::MappingPoints& map, const std::string& key,
                 absl::string_view value, FindingFix* fix) {
    const auto it = map.values.find(key);
    if (it == map.values.end()) {
      fix->skipped = absl::StrCat(key, " is not a plain value");
      return;
    }
    ReplaceScalar(it->second, key, value, fix);
  }

  // Sets `map[key]` to `value`: in place, or as a new first key.
  void SetKey(const pipeline::MappingPoints& map, const std::string& key, absl::string_view value,
              FindingFix* fix) {
    if (!map.is_mapping || map.flow_style) {
      fix->skipped = absl::StrCat(key, ": its mapping cannot be edited in place");
      return;
    }
    if (const auto it = map.values.find(key); it != map.values.end()) {
      ReplaceScalar(it->second, key, value, fix);
      return;
    }
    // A new key before the first one, at the same indentation. UIDs are
    // quoted, as Harness writes them.
    const std::string written = key == "runAsUser"                       ? absl::StrCat("\"", value, "\"")
                                : value == "true" || value == "false" ? std::string(value)
                                                                      : YamlScalar(value);
    Edit(map.start.offset, map.start.offset,
         absl::StrCat(key, ": ", written, "\n", std::string(map.start.column, ' ')), fix);
  }

  // Sets a String variable of the step's stage: its value replaced, or a new
  // first item of `variables`, or a new `variables:` before the stage's `spec:`.
  void StageVariable(const pipeline::StepEditPoints& points, const std::string& name,
                     absl::string_view value, FindingFix* fix) {
    const pipeline::VariableListPoints& vars = points.stage_variables;
    if (vars.block_list) {
      for (const pipeline::VariablePoints& var : vars.items) {
        if (var.name != name) continue;
        if (var.has_value) {
          ReplaceScalar(var.value, "value", value, fix);
        } else {
          fix->skipped = absl::StrCat("stage variable ", name, " has no value to edit");
        }
        return;
      }
      const pipeline::TextPoint& dash = vars.first_item;  // The first item's '-'.
      const std::string pad(dash.column, ' ');
      Edit(dash.offset, dash.offset,
           absl::StrCat("- name: ", name, "\n", pad, "  type: String\n", pad, "  value: \"", value,
                        "\"\n", pad),
           fix);
      return;
    }
    const pipeline::MappingPoints& stage = points.stage;
    const auto spec_key = stage.keys.find("spec");
    if (!stage.is_mapping || stage.flow_style || vars.present || spec_key == stage.keys.end()) {
      fix->skipped = absl::StrCat("add the stage variable ", name, ": \"", value, "\" by hand");
      return;
    }
    const pipeline::TextPoint& at = spec_key->second;
    const std::string pad(at.column, ' ');
    Edit(at.offset, at.offset,
         absl::StrCat("variables:\n", pad, "  - name: ", name, "\n", pad, "    type: String\n",
                      pad, "    value: \"", value, "\"\n", pad),
         fix);
  }

  // Replaces the step's `spec:` block by the decided step's (a change of
  // step type). False (with `skipped`) when it cannot.
  bool ReplaceSpec(const pipeline::MappingPoints& step, const v1::Decision& d, FindingFix* fix) {
    const auto spec_key = step.keys.find("spec");
    const std::size_t spec_in_yaml = d.step_yaml().find("\n    spec:\n");
    if (spec_key == step.keys.end() || spec_in_yaml == std::string::npos) {
      fix->skipped = "the step's spec cannot be replaced";
      return false;
    }
    const pipeline::TextPoint& mark = spec_key->second;
    const int first = mark.line;
    // The block: the key's line and every following line indented deeper
    // (blank and comment lines inside it included, trailing ones not).
    int last = first;
    for (int line = first + 1; line < lines_.count(); ++line) {
      const int indent = Indent(lines_.Line(line));
      if (indent < 0) continue;
      if (indent <= mark.column) break;
      last = line;
    }
    for (int i = 0; i < mark.column; ++i) {
      if (lines_.Line(first)[i] != ' ') {
        fix->skipped = "the step's spec does not start its line";
        return false;
      }
    }
    // The rendered spec sits at column 4; shift it to the key's column.
    std::string replacement;
    for (absl::string_view line :
         absl::StrSplit(absl::string_view(d.step_yaml()).substr(spec_in_yaml + 1), '\n')) {
      if (line.empty()) continue;
      int indent = 0;
      while (indent < static_cast<int>(line.size()) && line[indent] == ' ') ++indent;
      absl::StrAppend(&replacement, std::string(indent - 4 + mark.column, ' '),
                      line.substr(indent), "\n");
    }
    const std::size_t begin = lines_.Start(first);
    std::size_t end = lines_.Start(last + 1);
    if (end > text_.size()) end = text_.size();
    if (end == text_.size() && (text_.empty() || text_.back() != '\n')) replacement.pop_back();
    Edit(begin, end, replacement, fix);
    return true;
  }

  void Edit(std::size_t begin, std::size_t end, std::string replacement, FindingFix* fix) {
    TextEdit e;
    e.begin = begin;
    e.end = end;
    e.replacement = std::move(replacement);
    const int l1 = lines_.LineOf(begin), l2 = lines_.LineOf(end);
    e.start_line = l1 + 1;
    e.start_column = static_cast<int>(begin - lines_.Start(l1)) + 1;
    e.end_line = l2 + 1;
    e.end_column = static_cast<int>(end - lines_.Start(l2)) + 1;
    fix->edits.push_back(std::move(e));
  }

  absl::string_view text_;
  Lines lines_;
};

}  // namespace

FileFix PlanFixes(absl::string_view text, const LintResult& result) {
  FileFix out;
  Planner planner(text);
  for (int i = 0; i < result.report.findings_size(); ++i) {
    const v1::Finding& f = result.report.findings(i);
    if (f.verdict() != v1::VERDICT_ALLOW_WITH_CHANGES) continue;
    const int build = result.build_index[i];
    if (build < 0 || f.rule() == v1::UNMANAGED_BUILD) {
      out.findings.push_back({i, {}, "replace this build by hand with the decided step"});
      continue;
    }
    planner.Finding(i, f, result.document.builds[build], &out);
  }
  return out;
}

std::string ApplyFixes(absl::string_view text, const FileFix& fix) {
  std::vector<const TextEdit*> edits;
  for (const FindingFix& f : fix.findings) {
    for (const TextEdit& e : f.edits) edits.push_back(&e);
  }
  std::stable_sort(edits.begin(), edits.end(), [](const TextEdit* a, const TextEdit* b) {
    return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
  });
  std::string out;
  std::size_t at = 0;
  const TextEdit* previous = nullptr;
  for (const TextEdit* e : edits) {
    if (previous != nullptr && e->begin == previous->begin && e->end == previous->end &&
        e->replacement == previous->replacement) {
      continue;  // The same edit from two findings (a shared security context).
    }
    if (e->begin < at) continue;  // Overlaps an earlier edit.
    out.append(text.data() + at, e->begin - at);
    out.append(e->replacement);
    at = e->end;
    previous = e;
  }
  out.append(text.data() + at, text.size() - at);
  return out;
}

namespace {

// `text` split into lines, each with its '\n' (the last one may lack it).
std::vector<absl::string_view> LinesOf(absl::string_view text) {
  std::vector<absl::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::size_t length = end == absl::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(0, length));
    text.remove_prefix(length);
  }
  return lines;
}

}  // namespace

std::string UnifiedDiff(absl::string_view before, absl::string_view after, absl::string_view file) {
  if (before == after) return std::string();
  // Lines keep their '\n', so a last line without one differs from the same
  // line with one, as in GNU diff.
  const std::vector<absl::string_view> a = LinesOf(before);
  const std::vector<absl::string_view> b = LinesOf(after);
  // Lines equal at both ends; the rest differs, diffed line by line with an
  // LCS over the (small) middle windows between equal lines.
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  // Myers-free simple approach: LCS table over the whole text is too big for
  // long files, so match runs greedily with a lookahead window.
  std::vector<std::pair<char, absl::string_view>> ops;  // ' ', '-', '+'
  int i = 0, j = 0;
  constexpr int kWindow = 400;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ops.push_back({' ', a[i++]});
      ++j;
      continue;
    }
    // The nearest resynchronisation point within the window.
    int best_i = n, best_j = m, best_cost = 1 << 30;
    for (int di = 0; di <= kWindow && i + di <= n; ++di) {
      for (int dj = 0; dj <= kWindow && j + dj <= m; ++dj) {
        if (di + dj >= best_cost) break;
        const bool end = i + di == n && j + dj == m;
        if (end || (i + di < n && j + dj < m && a[i + di] == b[j + dj])) {
          best_cost = di + dj;
          best_i = i + di;
          best_j = j + dj;
          break;
        }
      }
    }
    while (i < best_i) ops.push_back({'-', a[i++]});
    while (j < best_j) ops.push_back({'+', b[j++]});
  }
  std::string out = absl::StrCat("--- a/", file, "\n+++ b/", file, "\n");
  constexpr int kContext = 3;
  const int total = static_cast<int>(ops.size());
  int k = 0;
  int old_line = 1, new_line = 1;  // Of ops[k].
  while (k < total) {
    if (ops[k].first == ' ') {
      ++old_line;
      ++new_line;
      ++k;
      continue;
    }
    // A hunk: from kContext lines before this change to kContext after the
    // last change that is at most 2*kContext equal lines from the next.
    const int start = std::max(0, k - kContext);
    int end = k;
    int equal_run = 0;
    for (int x = k; x < total; ++x) {
      if (ops[x].first == ' ') {
        if (++equal_run > 2 * kContext) break;
      } else {
        equal_run = 0;
        end = x;
      }
    }
    const int stop = std::min(total, end + 1 + kContext);
    const int old_start = old_line - (k - start), new_start = new_line - (k - start);
    int old_count = 0, new_count = 0;
    std::string body;
    for (int x = start; x < stop; ++x) {
      absl::StrAppend(&body, std::string(1, ops[x].first), ops[x].second);
      if (!absl::EndsWith(ops[x].second, "\n")) {
        absl::StrAppend(&body, "\n\\ No newline at end of file\n");
      }
      if (ops[x].first != '+') ++old_count;
      if (ops[x].first != '-') ++new_count;
    }
    absl::StrAppend(&out, "@@ -", old_count == 0 ? old_start - 1 : old_start, ",", old_count,
                    " +", new_count == 0 ? new_start - 1 : new_start, ",", new_count, " @@\n",
                    body);
    for (int x = k; x < stop; ++x) {
      if (ops[x].first != '+') ++old_line;
      if (ops[x].first != '-') ++new_line;
    }
    k = stop;
  }
  return out;
}

}  // namespace buildgate::lint
