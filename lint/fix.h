// Fixes: the text edits that turn each build needing changes into the one
// buildgate decided, editing only the lines that must change so that
// comments, key order, quoting and everything else stay byte for byte.
//
//  - a field whose value changes (spec.privileged, spec.runAsUser,
//    spec.image, spec.caching, type, identifier, a containerSecurityContext
//    field) has its scalar replaced in place, quoted as it was;
//  - a field the step lacks is added as the first key of its mapping, at
//    that mapping's indentation;
//  - a change of step type (Build and Push to a Plugin step) replaces the
//    step's lines with the decided step (comments inside that step go);
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
  std::vector<TextEdit> edits;
  std::string skipped;  // Why there is no fix, when edits is empty.
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
