// The lint layer: every image build of a Harness pipeline document
// (pipeline/harness_pipeline.h) decided by the engine under one policy set,
// as located findings (v1::Finding). The CLI (`buildgate lint`, `test`,
// `diff`) and the LintPipeline RPC call this; neither reads pipelines nor
// decides on its own.
//
// Findings, in document order:
//  - a decided build: the decision, the changes that make the pipeline
//    compliant (the engine's, plus pipeline-level ones: a step field that
//    holds <+input> must be set to the value the decision needs; an
//    identifier Harness refuses), and notes (matrix, runtime inputs);
//  - a build that cannot be decided from the document: verdict unset, rule
//    TEMPLATE_NOT_EXPANDED (a template reference) or RUNTIME_INPUT (a plugin
//    image, or a value the decision depends on, known only at run time:
//    decided both ways and they differ);
//  - an unmanaged build (a Run step calling docker build, buildah, kaniko):
//    rule UNMANAGED_BUILD, ALLOW_WITH_CHANGES with the decision for the
//    governed step that should replace it (DENY if none is allowed).
// Plugin steps whose image is no builder plugin and other steps build
// nothing and give no finding. A file of several YAML documents gives one
// report, its findings in file order (each document read on its own); a
// build in a template file carries a RUNTIME_INPUT note that its <+input>
// values are the template's inputs.
//
// Thread-safe: pure; any number of threads may lint under one policy set.
#ifndef BUILDGATE_LINT_LINT_H_
#define BUILDGATE_LINT_LINT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/lint.pb.h"
#include "engine/compiled_policy.h"
#include "input/limits.h"
#include "pipeline/harness_pipeline.h"

namespace buildgate::lint {

struct LintResult {
  pipeline::PipelineDocument document;  // What was read (the fixer edits by it).
  v1::LintReport report;                // findings[i] for builds/templates, in order.
  // For each finding, the index of its build in document.builds, or -1 (a
  // template reference).
  std::vector<int> build_index;
};

// Reads and lints `text` (named `file`), every YAML document of it. An
// error (kInvalidArgument "FILE:LINE:COLUMN: ...") means no report: a
// document that is not a pipeline or another Harness entity, a field of the
// wrong shape (in a file of several documents, naming the document), or a
// build the engine refuses (its location and the engine's message). What
// each document is: result.document.documents.
absl::StatusOr<LintResult> LintDocument(const CompiledPolicySet& policy_set,
                                        absl::string_view text, absl::string_view file,
                                        const InputLimits& limits = InputLimits());

// A report made elsewhere (the LintPipeline RPC) joined to the document it
// is about, read again from `text`, so that fixes can be planned for it:
// each finding is matched to its build by YAML path.
absl::StatusOr<LintResult> JoinReport(absl::string_view text, absl::string_view file,
                                      v1::LintReport report,
                                      const InputLimits& limits = InputLimits());

// How a finding counts for an exit code, worst first: DENY, then changes
// needed or undecidable, then compliant.
enum class Severity { kCompliant = 0, kNeedsChanges = 1, kDenied = 2 };
Severity SeverityOf(const v1::Finding& finding);

// Help text for a reason code (SARIF rule help, `buildgate lint --explain`):
// what it means and what to do. Every ReasonCode has one.
absl::string_view ReasonHelp(v1::ReasonCode code);

}  // namespace buildgate::lint

#endif  // BUILDGATE_LINT_LINT_H_
