// Shared by the fuzz targets: a compiled example policy and the checks every
// decision must pass. Thread-compatible (libFuzzer runs one input at a time).
#ifndef BUILDGATE_TESTS_FUZZ_FUZZ_POLICY_H_
#define BUILDGATE_TESTS_FUZZ_FUZZ_POLICY_H_

#include <cstdlib>
#include <memory>

#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/step.pb.h"
#include "engine/compiled_policy.h"
#include "engine/decide.h"
#include "input/proto_text.h"

namespace buildgate::fuzz {

// A policy that forbids root and allows privileged, with an allowlist and
// credential rules, so most branches of Decide are reachable.
inline const CompiledPolicySet& ExamplePolicy() {
  static const std::shared_ptr<const CompiledPolicySet> set = [] {
    v1::PolicySet p;
    const absl::Status s = ParseYamlToMessage(R"(
orgId: fuzz-org
policy:
  revision: r1
  root: ROOT_FORBIDDEN
  privileged: PRIVILEGED_ALLOWED
  registryAllowlist: ["*.dkr.ecr.us-east-1.amazonaws.com/*", "docker.io/acme/*"]
  credentials: CREDENTIALS_PASSWORD_EXPRESSION
overrides:
  - projectId: payments
    policy:
      root: ROOT_FORBIDDEN
      privileged: PRIVILEGED_FORBIDDEN
)", "fuzz-policy.yaml", &p);
    if (!s.ok()) std::abort();
    auto c = CompiledPolicySet::Compile(p);
    if (!c.ok()) std::abort();
    return *c;
  }();
  return *set;
}

// Decides `step` twice: both must agree (status and bytes); an error must be
// INVALID_ARGUMENT and leave no decision.
inline void DecideTwiceAndCompare(const CompiledPolicySet& set, const v1::BuildStep& step) {
  v1::Decision a, b;
  const absl::Status sa = Decide(set, step, &a);
  const absl::Status sb = Decide(set, step, &b);
  if (sa.code() != sb.code()) std::abort();
  if (!sa.ok()) {
    if (sa.code() != absl::StatusCode::kInvalidArgument) std::abort();
    return;
  }
  if (a.verdict() == v1::VERDICT_UNSPECIFIED) std::abort();
  if (DeterministicSerialization(a) != DeterministicSerialization(b)) std::abort();
}

}  // namespace buildgate::fuzz

#endif  // BUILDGATE_TESTS_FUZZ_FUZZ_POLICY_H_
