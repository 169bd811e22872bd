// The builder rules: whether one builder of the catalog can run a step of a
// given shape (destination, node architecture, simple Dockerfile or not)
// under an effective policy, with which run profile, and why not. The
// platform's own admission rules (Pod Security, SCCs) live in admission.h;
// the builder facts live in the catalog. Compiling a policy set evaluates
// every builder for every shape once (compiled_tables.h); remediation
// search evaluates again under relaxed policies.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_ENGINE_INTERNAL_BUILDER_EVALUATION_H_
#define BUILDGATE_ENGINE_INTERNAL_BUILDER_EVALUATION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "buildgate/v1/catalog.pb.h"
#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/policy.pb.h"
#include "buildgate/v1/step.pb.h"
#include "engine/admission.h"

namespace buildgate {

// A reason with its code, the builder it concerns and its text.
v1::Reason MakeReason(v1::ReasonCode code, v1::Builder builder, std::string message);

// Whether one builder can run a step of one shape under one policy.
struct BuilderEvaluation {
  bool admissible = false;
  // Index of the chosen run profile in BuilderSpec.profiles, or -1.
  int profile = -1;
  ContainerSecurity security;
  v1::Pss satisfied_pss = v1::PSS_UNSPECIFIED;
  // The builder's enabling feature flag is off: only a step that enables
  // caching (when the catalog says caching enables it) can still use it.
  bool needs_enabling_flag = false;
  // Why it is not admissible (not counting needs_enabling_flag).
  std::vector<v1::Reason> reasons;
};

// Evaluates `spec` under an effective policy for one step shape: allowed by
// the policy, published for the destination and architecture, not displaced
// by a feature flag, and the first run profile that applies to the platform
// and that root, UID range, privileged, SCC and Pod Security rules admit.
BuilderEvaluation EvaluateBuilder(const v1::BuilderSpec& spec, const v1::Policy& policy,
                                  v1::Destination destination, v1::Arch arch,
                                  bool simple_dockerfile);

// The checks that depend on the step itself rather than on its shape: a
// builder a feature flag switches on, unless the step's caching does; and
// build without push to the step's destination.
struct StepFit {
  bool flag_missing = false;
  bool dry_run_unsupported = false;
  bool ok() const { return !flag_missing && !dry_run_unsupported; }
};
StepFit CheckStepFit(const v1::BuilderSpec& spec, const BuilderEvaluation& ev,
                     const v1::BuildStep& step, v1::Destination destination);

// "amd64" / "arm64", as plugin tags and Kubernetes node labels write them.
absl::string_view ArchName(v1::Arch arch);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_INTERNAL_BUILDER_EVALUATION_H_
