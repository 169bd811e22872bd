// Lint reports: a run over many documents as text (grouped by file, colour
// on request), JSON (v1::LintRun) and SARIF 2.1.0 (rules are reason codes
// with help text; results carry the physical location, the YAML path as a
// logical location, and fixes where buildgate knows the replacement).
// A fix that is planned but not applied (FindingFix::incomplete_edits) is
// shown as such: in text under its finding, in `--fix`'s diff as comment
// lines `patch` skips, in SARIF as a result property, never as a fix.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_LINT_REPORT_H_
#define BUILDGATE_LINT_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/common.pb.h"
#include "buildgate/v1/lint.pb.h"
#include "lint/fix.h"

namespace buildgate::lint {

// Counts the run's findings into its summary fields.
void Summarize(v1::LintRun* run);

// A fix buildgate plans but does not apply, because it would lose what the
// user wrote or give a step Harness rejects, as the reports show it.
struct UnappliedFix {
  int finding = 0;                       // Index into the file's findings.
  std::string why;                       // "not fixed: " follows; not_carried not repeated.
  std::vector<std::string> not_carried;  // FindingFix::not_carried, each "what: why".
  // Its edits as a unified diff against the text with every applied fix of
  // the file (what `--fix --write` saves, or `--fix`'s diff patched in).
  std::string suggested_diff;
};

// The fixes of `fix` (planned from `text`, the document `file`) that are
// not applied.
std::vector<UnappliedFix> UnappliedFixes(absl::string_view text, const FileFix& fix,
                                         absl::string_view file);

// For `--fix`: the unapplied fixes of `file` (whose findings `report`
// holds) as lines starting "# ", which precede the file's diff and which
// `patch` skips; each suggested diff is there with "# " before every line.
// "" when there are none.
std::string UnappliedFixesAsDiffComments(absl::string_view file, const v1::LintReport& report,
                                         const std::vector<UnappliedFix>& unapplied);

// Text: per file its findings (line:column, verdict, rule, step, message,
// changes, notes, and an unapplied fix with its suggested diff indented, as
// `patch` still reads it) and a closing count. `unapplied[i]` is for
// run.files(i) (may be shorter than the run). `color`: ANSI colours (a TTY).
std::string LintRunToText(const v1::LintRun& run,
                          const std::vector<std::vector<UnappliedFix>>& unapplied, bool color);

// SARIF 2.1.0. `fixes[i]` holds the edits for run.files(i) (may be empty):
// applied fixes become the result's `fixes`; one not applied becomes
// `properties.buildgate.suggestedFix` (`notApplied`, `notCarried`,
// `artifactChanges` as in a SARIF fix), which SARIF consumers do not apply.
// `tool_version` names buildgate's version.
std::string LintRunToSarif(const v1::LintRun& run, const std::vector<FileFix>& fixes,
                           absl::string_view tool_version);

}  // namespace buildgate::lint

#endif  // BUILDGATE_LINT_REPORT_H_
