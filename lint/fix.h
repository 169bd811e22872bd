// Fixes: the text edits that turn each build needing changes into the one
// buildgate decided, editing only the lines that must change so that
// comments, key order, quoting and everything else stay byte for byte.
//
//  - a field whose value changes (spec.privileged, spec.runAsUser,
//    spec.image, spec.caching, type, identifier, a containerSecurityContext
//    field) has its scalar replaced in place, quoted as it was;
//  - a field the step lacks is added as the first key of its mapping, at
//    that mapping's indentation;
//  - a change of step type (Build and Push <-> a Plugin step) replaces the
//    body of the step's `spec:` with the decided step's and carries every
//    key the user wrote that has a counterpart in the new type (build args,
//    labels, target, resources, envVariables; one table in fix.cc, with its
//    sources); a comment is kept on (or above) its line when that line is
//    written again unchanged. What cannot be carried (a key without
//    counterpart, registry credentials, a comment) is named in
//    `not_carried`, and such a fix, or one giving a step Harness rejects (a
//    Build and Push step without tags), is not applied: `skipped` says why
//    and `incomplete_edits` holds the edits it would make;
//  - stage variables the builder needs (PLUGIN_DRY_RUN) are added.
// Denies, undecidable findings, unmanaged builds, flow-style (JSON) nodes
// and plaintext credentials are not fixed; `skipped` says why.
// Where to edit comes from the edit points the pipeline reader records for
// each build (pipeline/edit_points.h); the fixer never reads YAML.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_LINT_FIX_H_
#define BUILDGATE_LINT_FIX_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lint/lint.h"

namespace buildgate::lint {

// Replace text[begin, end) by `replacement`. Lines and columns are 1-based;
// the end is exclusive (SARIF's region convention).
struct TextEdit {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string replacement;
  int start_line = 0, start_column = 0, end_line = 0, end_column = 0;
};

struct FindingFix {
  int finding = 0;  // Index into LintReport.findings.
  std::vector<TextEdit> edits;  // What ApplyFixes applies (never with `skipped`).
  std::string skipped;          // Why there is no fix, when edits is empty.
  // A change of step type: what the user wrote that the decided step would
  // lose, each "what: why" (`spec.settings.auto_tag: Build and Push has no
  // auto-tagging; list the tags`). Not empty: the fix is skipped.
  std::vector<std::string> not_carried;
  // The edits of a fix skipped for being incomplete (`not_carried`, or a
  // step Harness would reject): shown, never applied.
  std::vector<TextEdit> incomplete_edits;
};

struct FileFix {
  std::vector<FindingFix> findings;  // Only findings that need changes.
};

// The edits for every finding of `result` (linted from `text`) that needs changes.
FileFix PlanFixes(absl::string_view text, const LintResult& result);

// `text` with every edit of `fix` applied (edits never overlap; an edit
// overlapping an earlier one is dropped).
std::string ApplyFixes(absl::string_view text, const FileFix& fix);

// A unified diff (`diff -u` style, 3 lines of context) from `before` to
// `after` for `file`; "" when they are equal. A last line without '\n' is
// followed by GNU diff's "\ No newline at end of file" line, so `patch`
// applies it.
std::string UnifiedDiff(absl::string_view before, absl::string_view after, absl::string_view file);

}  // namespace buildgate::lint

#endif  // BUILDGATE_LINT_FIX_H_
