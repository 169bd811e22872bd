// Registry references: where a step pushes, normalised so that policy
// allowlist patterns can be matched against it, and the per-destination shape
// checks (an ECR step must name an ECR registry, and so on).
//
// Thread-safe: all functions are pure.
#ifndef BUILDGATE_ENGINE_REGISTRY_H_
#define BUILDGATE_ENGINE_REGISTRY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/common.pb.h"

namespace buildgate {

// Where the Harness expression that opens at `start` ("<+") ends: the index
// just past its closing '>', or npos when `text` has no well-formed
// expression there. Nested expressions (<+a.<+b>>), parentheses and quoted
// strings (<+secrets.getValue("a>b")>) are followed.
std::size_t HarnessExpressionEnd(absl::string_view text, std::size_t start);

// True if the whole of `value` is one Harness expression such as
// <+secrets.getValue("X")> or <+pipeline.variables.X>; "<+x>Hunter2>" is not.
bool IsHarnessExpression(absl::string_view value);

// True if `text` contains a well-formed Harness expression anywhere.
bool ContainsHarnessExpression(absl::string_view text);

// `text` in lower case, except its Harness expressions, kept as written.
std::string LowerOutsideExpressions(absl::string_view text);

// The dot-separated labels of `host`; a dot inside a Harness expression
// does not split (123456789012.dkr.ecr.<+pipeline.variables.AWS_REGION>.amazonaws.com
// has six labels, the fourth the whole expression).
std::vector<absl::string_view> HostLabels(absl::string_view host);

// An ECR host's account and region, each as written (an expression stays an
// expression); nullopt unless `host` has the ECR shape around them. The one
// place decide and render read them from.
struct EcrHost {
  std::string account;
  std::string region;
};
std::optional<EcrHost> ParseEcrHost(absl::string_view host);

// The registry host of `registry` ("https://index.docker.io/v2/" ->
// "docker.io"), or the destination's default when `registry` is empty.
// Lower case except Harness expressions, which are case-sensitive.
std::string RegistryHost(v1::Destination destination, absl::string_view registry);

// "host/repo" for allowlist matching. A repo that already starts with a host
// (first segment has a '.' or ':' or is "localhost") keeps it.
std::string PushTarget(v1::Destination destination, absl::string_view registry,
                       absl::string_view repo);

// Checks that `host` has the destination's form, e.g. ECR
// <12 digits>.dkr.ecr.<region>.amazonaws.com. Returns an explanation when it
// does not, empty when it does.
std::string RegistryShapeProblem(v1::Destination destination, absl::string_view host);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_REGISTRY_H_
