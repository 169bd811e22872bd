#include "lint/report.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/input_error.h"
#include "engine/enum_names.h"
#include "engine/render.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "lint/lint.h"

namespace buildgate::lint {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

const char* VerdictWord(v1::Verdict v) {
  switch (v) {
    case v1::VERDICT_ALLOW:
      return "ok";
    case v1::VERDICT_ALLOW_WITH_CHANGES:
      return "changes";
    case v1::VERDICT_DENY:
      return "deny";
    default:
      return "unknown";
  }
}

const char* Color(v1::Verdict v) {
  switch (v) {
    case v1::VERDICT_ALLOW:
      return "\033[32m";
    case v1::VERDICT_ALLOW_WITH_CHANGES:
      return "\033[33m";
    case v1::VERDICT_DENY:
      return "\033[31m";
    default:
      return "\033[36m";
  }
}

// SARIF level of a finding: a deny is an error, changes or undecidable a
// warning, a compliant build a note.
const char* SarifLevel(v1::Verdict v) {
  switch (v) {
    case v1::VERDICT_DENY:
      return "error";
    case v1::VERDICT_ALLOW:
      return "note";
    default:
      return "warning";
  }
}

Value Str(absl::string_view s) {
  Value v;
  v.set_string_value(std::string(s));
  return v;
}
Value Num(double n) {
  Value v;
  v.set_number_value(n);
  return v;
}
Value Obj(std::initializer_list<std::pair<const char*, Value>> fields) {
  Value v;
  auto* m = v.mutable_struct_value()->mutable_fields();
  for (const auto& [k, val] : fields) (*m)[k] = val;
  return v;
}
Value Text(absl::string_view s) { return Obj({{"text", Str(s)}}); }
Value List(std::vector<Value> items) {
  Value v;
  v.mutable_list_value();  // An empty list is `[]`, not left out (SARIF reads no results as "did not run").
  for (Value& item : items) *v.mutable_list_value()->add_values() = std::move(item);
  return v;
}

// "ROOT_NOT_ALLOWED" → "RootNotAllowed" (SARIF rule `name`).
std::string PascalCase(absl::string_view code) {
  std::string out;
  bool upper = true;
  for (char c : code) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out.push_back(upper ? c : static_cast<char>(absl::ascii_tolower(static_cast<unsigned char>(c))));
    upper = false;
  }
  return out;
}

// A file path as a SARIF uri-reference: bytes outside RFC 3986's
// unreserved and sub-delimiter sets (spaces, '%', '#', '?', non-ASCII)
// percent-encoded; '/' kept.
std::string UriReference(absl::string_view path) {
  static constexpr absl::string_view kKeep = "-._~/!$&'()*+,;=:@";
  std::string out;
  for (char c : path) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || kKeep.find(c) != absl::string_view::npos) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%", absl::Hex(u, absl::kZeroPad2));
    }
  }
  return out;
}

Value ArtifactLocation(absl::string_view file) { return Obj({{"uri", Str(UriReference(file))}}); }

Value PhysicalLocation(absl::string_view file, int line, int column) {
  Value region = Obj({{"startLine", Num(line > 0 ? line : 1)}});
  if (column > 0) (*region.mutable_struct_value()->mutable_fields())["startColumn"] = Num(column);
  return Obj({{"artifactLocation", ArtifactLocation(file)}, {"region", region}});
}

std::string FindingMessage(const v1::Finding& f) {
  std::string text = f.message();
  if (!f.step_id().empty()) {
    text = absl::StrCat("step ", f.step_id(), f.stage_id().empty() ? "" : " in stage ",
                        f.stage_id(), ": ", text);
  }
  for (const v1::Change& c : f.changes()) {
    absl::StrAppend(&text, "\n", ChangeText(c));
  }
  for (const v1::Reason& n : f.notes()) absl::StrAppend(&text, "\n", n.message());
  return text;
}

// SARIF replacements: each edit's region (1-based, end exclusive) and text.
Value Replacements(const std::vector<TextEdit>& edits) {
  std::vector<Value> replacements;
  for (const TextEdit& e : edits) {
    replacements.push_back(Obj({{"deletedRegion", Obj({{"startLine", Num(e.start_line)},
                                                       {"startColumn", Num(e.start_column)},
                                                       {"endLine", Num(e.end_line)},
                                                       {"endColumn", Num(e.end_column)}})},
                                {"insertedContent", Text(e.replacement)}}));
  }
  return List(std::move(replacements));
}

Value ArtifactChanges(absl::string_view file, const std::vector<TextEdit>& edits) {
  return List(
      {Obj({{"artifactLocation", ArtifactLocation(file)}, {"replacements", Replacements(edits)}})});
}

// Why a fix is not applied, for "not fixed: ". FindingFix::skipped joins
// the losses after "lose " (lint/fix.cc); the reports list them one a line
// below it, so here they are named once.
std::string WhyNotApplied(const FindingFix& ff) {
  std::string why = ff.skipped;
  if (ff.not_carried.empty()) return why;
  const std::string listed = absl::StrCat("lose ", absl::StrJoin(ff.not_carried, "; "));
  if (std::size_t at = why.find(listed); at != std::string::npos) {
    why.replace(at, listed.size(), "lose what follows");
  }
  return why;
}

// An unapplied fix as lines: "not fixed: WHY" (after `where`), each loss
// indented, then the suggested diff under "suggested, not applied" and
// `how_to_apply`. Every line starts with `prefix`, the diff's lines with
// `prefix` and `diff_indent`.
std::string UnappliedFixLines(const UnappliedFix& u, absl::string_view where,
                              absl::string_view prefix, absl::string_view diff_indent,
                              absl::string_view how_to_apply) {
  std::string out = absl::StrCat(prefix, where, "not fixed: ", u.why, "\n");
  for (const std::string& item : u.not_carried) absl::StrAppend(&out, prefix, "  ", item, "\n");
  absl::StrAppend(&out, prefix, "suggested, not applied", how_to_apply, ":\n");
  for (absl::string_view line : absl::StrSplit(u.suggested_diff, '\n', absl::SkipEmpty())) {
    absl::StrAppend(&out, prefix, diff_indent, line, "\n");
  }
  return out;
}

}  // namespace

std::vector<UnappliedFix> UnappliedFixes(absl::string_view text, const FileFix& fix,
                                         absl::string_view file) {
  std::vector<UnappliedFix> out;
  const std::string fixed = ApplyFixes(text, fix);
  for (const FindingFix& ff : fix.findings) {
    if (ff.incomplete_edits.empty()) continue;
    FileFix suggested = fix;  // The applied fixes, and this one as if it were.
    suggested.findings.push_back({ff.finding, ff.incomplete_edits, "", {}, {}});
    out.push_back({ff.finding, WhyNotApplied(ff), ff.not_carried,
                   UnifiedDiff(fixed, ApplyFixes(text, suggested), file)});
  }
  return out;
}

std::string UnappliedFixesAsDiffComments(absl::string_view file, const v1::LintReport& report,
                                         const std::vector<UnappliedFix>& unapplied) {
  std::string out;
  for (const UnappliedFix& u : unapplied) {
    const v1::SourceLocation& at = report.findings(u.finding).location();
    out += UnappliedFixLines(
        u, absl::StrCat(file, ":", at.line(), ":", at.column(), ": "), "# ", "",
        " (to use it, remove \"# \" from each line and patch -p1 after the diff of this file)");
  }
  return out;
}

void Summarize(v1::LintRun* run) {
  run->set_compliant(0);
  run->set_changes_needed(0);
  run->set_denied(0);
  run->set_undecidable(0);
  run->set_errors(0);
  for (const v1::LintedFile& file : run->files()) {
    if (file.has_error()) run->set_errors(run->errors() + 1);
    for (const v1::Finding& f : file.report().findings()) {
      switch (f.verdict()) {
        case v1::VERDICT_ALLOW:
          run->set_compliant(run->compliant() + 1);
          break;
        case v1::VERDICT_ALLOW_WITH_CHANGES:
          run->set_changes_needed(run->changes_needed() + 1);
          break;
        case v1::VERDICT_DENY:
          run->set_denied(run->denied() + 1);
          break;
        default:
          run->set_undecidable(run->undecidable() + 1);
      }
    }
  }
}

std::string LintRunToText(const v1::LintRun& run,
                          const std::vector<std::vector<UnappliedFix>>& unapplied, bool color) {
  const char* reset = color ? "\033[0m" : "";
  const char* dim = color ? "\033[2m" : "";
  std::string out;
  for (int i = 0; i < run.files_size(); ++i) {
    const v1::LintedFile& file = run.files(i);
    absl::StrAppend(&out, color ? "\033[1m" : "", file.file(), reset, "\n");
    if (file.has_error()) {
      absl::StrAppend(&out, "  ", color ? "\033[31m" : "", "error", reset, "  ",
                      file.error().message(), "\n");
      continue;
    }
    if (file.report().documents_size() > 1) {
      // A file of several documents: what each one is.
      std::vector<std::string> documents;
      for (const v1::LintedDocument& d : file.report().documents()) {
        documents.push_back(absl::StrCat(d.what(), " (line ", d.line(), d.linted() ? "" : ", skipped",
                                         ")"));
      }
      absl::StrAppend(&out, "  documents: ", absl::StrJoin(documents, "; "), "\n");
    }
    if (!file.report().skipped().empty()) {
      absl::StrAppend(&out, "  skipped: ", file.report().skipped(), ", not a pipeline\n");
    } else if (file.report().findings().empty()) {
      absl::StrAppend(&out, "  no image builds (", file.report().steps_seen(), " steps)\n");
    }
    for (int j = 0; j < file.report().findings_size(); ++j) {
      const v1::Finding& f = file.report().findings(j);
      const v1::SourceLocation& at = f.location();
      absl::StrAppend(&out, "  ", at.line(), ":", at.column(), "  ", color ? Color(f.verdict()) : "",
                      VerdictWord(f.verdict()), reset, "  ", EnumName(f.rule()), "  ");
      if (!f.stage_id().empty()) absl::StrAppend(&out, "stage ", f.stage_id(), " / ");
      absl::StrAppend(&out, f.harness_step_type(),
                      f.step_id().empty() ? "" : absl::StrCat(" ", f.step_id()), "\n");
      absl::StrAppend(&out, "      ", f.message(), "\n");
      for (const v1::Change& c : f.changes()) {
        absl::StrAppend(&out, "      ", ChangeText(c), "\n");
      }
      for (const v1::Reason& n : f.notes()) {
        absl::StrAppend(&out, "      note [", EnumName(n.code()), "] ", n.message(), "\n");
      }
      absl::StrAppend(&out, "      ", dim, "at ", at.yaml_path(), reset, "\n");
      if (i >= static_cast<int>(unapplied.size())) continue;
      for (const UnappliedFix& u : unapplied[i]) {
        // Indented alike, the diff is still one `patch` reads when copied.
        if (u.finding == j) out += UnappliedFixLines(u, "", "      ", "  ", "");
      }
    }
  }
  absl::StrAppend(&out, run.files_size(), run.files_size() == 1 ? " file" : " files", ": ",
                  run.compliant(), " compliant, ", run.changes_needed(), " need changes, ",
                  run.denied(), " denied, ", run.undecidable(), " undecidable");
  if (run.errors() > 0) absl::StrAppend(&out, ", ", run.errors(), " could not be read");
  out += "\n";
  return out;
}

std::string LintRunToSarif(const v1::LintRun& run, const std::vector<FileFix>& fixes,
                           absl::string_view tool_version) {
  // Rules: every reason code used, in first-use order.
  std::map<v1::ReasonCode, int> rule_index;
  std::vector<Value> rules;
  auto rule_of = [&](v1::ReasonCode code) {
    auto [it, inserted] = rule_index.emplace(code, static_cast<int>(rules.size()));
    if (inserted) {
      const std::string help(ReasonHelp(code));
      rules.push_back(Obj({{"id", Str(EnumName(code))},
                           {"name", Str(PascalCase(EnumName(code)))},
                           {"shortDescription", Text(help.substr(0, help.find(". ") + 1))},
                           {"fullDescription", Text(help)},
                           {"help", Text(help)},
                           {"helpUri", Str(absl::StrCat(
                                           "https://github.com/buildgate/buildgate/blob/main/"
                                           "docs/pipelines.md#",
                                           absl::AsciiStrToLower(EnumName(code))))}}));
    }
    return it->second;
  };
  std::vector<Value> results, notifications;
  const FileFix no_fixes;
  for (int i = 0; i < run.files_size(); ++i) {
    const v1::LintedFile& file = run.files(i);
    if (file.has_error()) {
      // A tool notification at the error's place, when it is in this file.
      const v1::InputError& error = file.error();
      const bool here = error.file() == file.file() && error.line() > 0;
      const int line = here ? error.line() : 1;
      const int column = here && error.column() > 0 ? error.column() : 1;
      notifications.push_back(Obj({{"level", Str("error")},
                                   {"message", Text(error.message())},
                                   {"locations", List({Obj({{"physicalLocation",
                                                             PhysicalLocation(file.file(), line,
                                                                              column)}})})}}));
      continue;
    }
    if (!file.report().skipped().empty()) {
      notifications.push_back(
          Obj({{"level", Str("note")},
               {"message", Text(absl::StrCat("skipped: ", file.report().skipped(),
                                             ", not a pipeline"))},
               {"locations", List({Obj({{"physicalLocation",
                                         PhysicalLocation(file.file(), 1, 1)}})})}}));
      continue;
    }
    const FileFix* fix = i < static_cast<int>(fixes.size()) ? &fixes[i] : &no_fixes;
    for (int j = 0; j < file.report().findings_size(); ++j) {
      const v1::Finding& f = file.report().findings(j);
      const v1::SourceLocation& at = f.location();
      Value location =
          Obj({{"physicalLocation", PhysicalLocation(file.file(), at.line(), at.column())},
               {"logicalLocations", List({Obj({{"fullyQualifiedName", Str(at.yaml_path())},
                                               {"kind", Str("element")}})})}});
      Value result = Obj({{"ruleId", Str(EnumName(f.rule()))},
                          {"ruleIndex", Num(rule_of(f.rule()))},
                          {"level", Str(SarifLevel(f.verdict()))},
                          {"message", Text(FindingMessage(f))},
                          {"locations", List({location})},
                          {"properties", Obj({{"verdict", Str(EnumName(f.verdict()))}})}});
      auto& fields = *result.mutable_struct_value()->mutable_fields();
      for (const FindingFix& ff : fix->findings) {
        if (ff.finding != j) continue;
        if (!ff.edits.empty()) {
          fields["fixes"] =
              List({Obj({{"description", Text("Apply buildgate's decision")},
                         {"artifactChanges", ArtifactChanges(file.file(), ff.edits)}})});
        } else if (!ff.incomplete_edits.empty()) {
          // Not a SARIF fix, which consumers may apply: a property they show.
          std::vector<Value> not_carried;
          for (const std::string& item : ff.not_carried) not_carried.push_back(Str(item));
          (*fields["properties"].mutable_struct_value()->mutable_fields())["buildgate"] = Obj(
              {{"suggestedFix",
                Obj({{"notApplied", Str(WhyNotApplied(ff))},
                     {"notCarried", List(std::move(not_carried))},
                     {"artifactChanges", ArtifactChanges(file.file(), ff.incomplete_edits)}})}});
        }
      }
      results.push_back(std::move(result));
    }
  }
  Value driver = Obj({{"name", Str("buildgate")},
                      {"version", Str(tool_version)},
                      {"informationUri", Str("https://github.com/buildgate/buildgate")},
                      {"rules", List(std::move(rules))}});
  Value invocation = Obj({{"executionSuccessful", Value()}});
  invocation.mutable_struct_value()->mutable_fields()->at("executionSuccessful").set_bool_value(
      run.errors() == 0);
  if (!notifications.empty()) {
    (*invocation.mutable_struct_value()->mutable_fields())["toolExecutionNotifications"] =
        List(std::move(notifications));
  }
  Value sarif = Obj({{"$schema", Str("https://json.schemastore.org/sarif-2.1.0.json")},
                     {"version", Str("2.1.0")},
                     {"runs", List({Obj({{"tool", Obj({{"driver", driver}})},
                                         {"invocations", List({invocation})},
                                         {"results", List(std::move(results))}})})}});
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(sarif, &json, options);
  return json;
}

}  // namespace buildgate::lint
