// Impact of a policy change (`buildgate diff`): the same documents linted
// under an old and a new policy set, every build whose decision differs
// (verdict, builder, privileged, runAsUser), grouped and counted.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_LINT_POLICY_DIFF_H_
#define BUILDGATE_LINT_POLICY_DIFF_H_

#include <string>

#include "buildgate/v1/lint.pb.h"

namespace buildgate::lint {

// What a finding's decision comes to.
v1::BuildOutcome OutcomeOf(const v1::Finding& finding);

// Adds to `diff` the builds of one document (linted under the old policy
// into `from`, under the new into `to`) whose outcome differs; builds are
// matched by YAML path. Counts builds and changes; call FinishDiff once all
// documents are added.
void AddDocumentDiff(const v1::LintReport& from, const v1::LintReport& to, v1::PolicyDiff* diff);

// Fills `groups` (by verdict transition, largest first).
void FinishDiff(v1::PolicyDiff* diff);

// Text: the counts, the groups, then each change with its location.
std::string PolicyDiffToText(const v1::PolicyDiff& diff);

}  // namespace buildgate::lint

#endif  // BUILDGATE_LINT_POLICY_DIFF_H_
