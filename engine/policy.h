// Policy validation, defaults and tighten-only overrides.
//
// An org policy must state `root` and `privileged`; everything else has a
// default (Kubernetes, builders Kaniko > Buildah > BuildX > drone-docker,
// non-root UID 1000 in 1..2147483647, plaintext credentials allowed, builds
// on every infrastructure).
// A project or pipeline override may only tighten its parent: every field it
// sets is checked against the parent's effective value, and a loosening is
// an error naming the field, e.g.
//   overrides[0].policy.privileged: PRIVILEGED_ALLOWED loosens the parent's PRIVILEGED_FORBIDDEN
//
// Thread-safe: all functions are pure.
#ifndef BUILDGATE_ENGINE_POLICY_H_
#define BUILDGATE_ENGINE_POLICY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/policy.pb.h"

namespace buildgate {

inline constexpr int64_t kDefaultNonRootUid = 1000;
inline constexpr int64_t kMaxUid = 2147483647;

// Validates an org policy and returns it with every default filled in.
// `at` prefixes field names in errors (e.g. "policy").
absl::StatusOr<v1::Policy> EffectiveOrgPolicy(const v1::Policy& org, absl::string_view at);

// Validates `override` against the effective `parent` and returns the merged
// effective policy. Fails if the override loosens anything.
absl::StatusOr<v1::Policy> ApplyOverride(const v1::Policy& parent, const v1::Policy& override,
                                         absl::string_view at);

// True if `policy.allowed_builders` lists `builder`.
bool AllowsBuilder(const v1::Policy& policy, v1::Builder builder);

// True if `uid` is within the effective `policy`'s allowed_uids (min and
// max included): the one test of the range, for builders, infrastructure
// and remediations alike.
// Inline: the decision path asks it per call.
inline bool AllowsUid(const v1::Policy& policy, int64_t uid) {
  return uid >= policy.allowed_uids().min() && uid <= policy.allowed_uids().max();
}

// True if builds may run on `type` (UNSPECIFIED is Kubernetes): the
// policy's allowed_infrastructures lists it, or is empty (every one).
bool AllowsInfrastructure(const v1::Policy& policy, v1::InfrastructureType type);

// True if `flag` is on in `policy`.
bool FeatureFlagOn(const v1::Policy& policy, absl::string_view flag);

// The builder order used when a policy lists none.
const std::vector<v1::Builder>& DefaultBuilderOrder();

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_POLICY_H_
