// Remediations: the smallest policy changes that would let a builder run a
// step the policy denies. Found by search, not by rules: each candidate
// relaxation is applied to a copy of the effective policy and the builder is
// evaluated again with the same catalog, so a remediation is right by
// construction. Only used on the deny path.
//
// Thread-safe: pure.
#ifndef BUILDGATE_ENGINE_INTERNAL_REMEDIATION_H_
#define BUILDGATE_ENGINE_INTERNAL_REMEDIATION_H_

#include <vector>

#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/step.pb.h"
#include "engine/internal/compiled_tables.h"

namespace buildgate {

// Most policy changes one remediation may combine.
inline constexpr int kMaxRemediationChanges = 4;

// Returns, for each builder that some relaxation admits, the minimal ones
// (fewest policy changes, at most kMaxRemediationChanges; at most three
// remediations per builder). A builder no such change admits (for example
// one that cannot build without pushing to the step's registry) gets none.
std::vector<v1::Remediation> FindRemediations(const CompiledScope& scope, const v1::BuildStep& step,
                                              v1::Destination destination, v1::Arch arch);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_INTERNAL_REMEDIATION_H_
