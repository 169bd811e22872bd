// Decide: the one function that turns a compiled policy set and a proposed
// build step into a Decision. The server and the CLI both call it.
//
// Decide is deterministic: no I/O, no clock, no logging, and the same inputs
// give the same Decision, byte for byte. It is not pure: what it learns from
// a step's shape it memoizes in the policy set's own tables (owned by the
// CompiledPolicySet, bounded, see compiled_policy.h), so a repeated shape
// costs a lookup. A memoized decision equals the fresh one byte for byte
// (tests/engine/shape_memo_test.cc; ShapeMemoBypass turns the memo off). A deny is a Decision (VERDICT_DENY with
// reasons and remediations); an error (kInvalidArgument naming the field,
// e.g. "step.kind: required") means the input was bad and no decision exists.
//
// Thread-safe: any number of threads may call Decide on the same
// CompiledPolicySet at once.
#ifndef BUILDGATE_ENGINE_DECIDE_H_
#define BUILDGATE_ENGINE_DECIDE_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/step.pb.h"
#include "engine/compiled_policy.h"

namespace buildgate {

// Fills `out` (cleared first). On error `out` is left cleared. `view`
// BASIC skips the work of the FULL-only fields (the remediation search,
// rejected builders, rendering): the result equals ApplyView(BASIC) of the
// FULL decision, byte for byte. UNSPECIFIED means FULL.
absl::Status Decide(const CompiledPolicySet& policy_set, const v1::BuildStep& step,
                    v1::Decision* out, v1::DecisionView view = v1::DECISION_VIEW_FULL);

// Decide (FULL view) for a Plugin step read from a pipeline, where most
// Plugin steps build nothing (Slack, S3 upload): the step's image is matched
// to the builder catalog once, and `*builder_plugin` says whether it is a
// builder plugin (as IsBuilderPluginStep). When it is not, the error is
// Decide's refusal of the image; when it is, the result is Decide's.
absl::Status DecidePluginStep(const CompiledPolicySet& policy_set, const v1::BuildStep& step,
                              v1::Decision* out, bool* builder_plugin);

// The allow/deny question alone: can `builder` run `step` in its scope,
// judged on the step's shape (destination, architecture, Dockerfile,
// caching, dry run) as Decide() judges every candidate, without the checks
// that deny a step whatever the builder (registry allowlist, credentials,
// platform, where the step runs) and without an explanation: the
// Kubernetes builder rules. What an allow/deny engine answers (bench/cedar
// compares Cedar on it). Errors as Decide's.
absl::StatusOr<bool> BuilderAdmissible(const CompiledPolicySet& policy_set,
                                       const v1::BuildStep& step, v1::Builder builder);

// Clears what `view` leaves out of `d` (nothing for FULL or UNSPECIFIED):
// the one definition of the BASIC view.
void ApplyView(v1::DecisionView view, v1::Decision* d);

// True when `step` (a Plugin step) runs an image the policy knows as a
// builder plugin: a catalog plugin image, any tag or digest, or one pulled
// from a plugin_mirrors entry of the step's scope. False for other plugins
// (Slack, S3 upload, ...): they build nothing.
bool IsBuilderPluginStep(const CompiledPolicySet& policy_set, const v1::BuildStep& step);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_DECIDE_H_
