// Validation of a proposed build step before any decision is made.
//
// Bad input never gets a decision: every problem is a kInvalidArgument whose
// message starts with the field path, e.g. "step.kind: required".
//
// Thread-safe: pure.
#ifndef BUILDGATE_ENGINE_STEP_VALIDATION_H_
#define BUILDGATE_ENGINE_STEP_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/step.pb.h"

namespace buildgate {

// Longest accepted value of any string field (ids, repo, image, ...).
inline constexpr std::size_t kMaxFieldLength = 1024;

absl::Status ValidateStep(const v1::BuildStep& step);

// An org, project, pipeline, stage or step id as every input must hold it:
// no control characters (C0, DEL, or C1 such as U+009B, which terminals
// read as escapes), spaces or '/'. kInvalidArgument naming `field`; the
// value is never echoed. ValidateStep applies the same rule to a step's ids.
absl::Status CheckIdentifier(absl::string_view field, absl::string_view id);

// The destination a Build and Push kind pushes to, or DESTINATION_UNSPECIFIED
// for plugin steps.
v1::Destination DestinationOfKind(v1::StepKind kind);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_STEP_VALIDATION_H_
