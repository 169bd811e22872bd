// Lint reports: a run over many documents as text (grouped by file, colour
// on request), JSON (v1::LintRun) and SARIF 2.1.0 (rules are reason codes
// with help text; results carry the physical location, the YAML path as a
// logical location, and fixes where buildgate knows the replacement).
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

// Text: per file its findings (line:column, verdict, rule, step, message,
// changes, notes) and a closing count. `color`: ANSI colours (a TTY).
std::string LintRunToText(const v1::LintRun& run, bool color);

// SARIF 2.1.0. `fixes[i]` holds the edits for run.files(i) (may be empty);
// `tool_version` names buildgate's version.
std::string LintRunToSarif(const v1::LintRun& run, const std::vector<FileFix>& fixes,
                           absl::string_view tool_version);

}  // namespace buildgate::lint

#endif  // BUILDGATE_LINT_REPORT_H_
