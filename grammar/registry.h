// Registry references: where a step pushes, normalised so that policy
// allowlist patterns can be matched against it, and the per-destination shape
// checks (an ECR step must name an ECR registry, and so on).
//
// Thread-safe: all functions are pure.
#ifndef BUILDGATE_GRAMMAR_REGISTRY_H_
#define BUILDGATE_GRAMMAR_REGISTRY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/common.pb.h"
#include "grammar/expression.h"

namespace buildgate {

// The dot-separated labels of `host`; a dot inside a Harness expression
// does not split (123456789012.dkr.ecr.<+pipeline.variables.AWS_REGION>.amazonaws.com
// has six labels, the fourth the whole expression).
using HostLabelList = absl::InlinedVector<absl::string_view, 8>;
HostLabelList HostLabels(absl::string_view host);

// An ECR host's account and region labels, views into `host`, each as
// written (an expression stays one whole expression); nullopt unless `host`
// has the ECR shape around them.
struct EcrHostLabels {
  absl::string_view account;
  absl::string_view region;
};
std::optional<EcrHostLabels> ParseEcrHost(absl::string_view host);

// The registry host of `registry` ("https://index.docker.io/v2/" ->
// "docker.io"), or the destination's default when `registry` is empty.
// Lower case except Harness expressions, which are case-sensitive.
std::string RegistryHost(v1::Destination destination, absl::string_view registry);

// Where a Build and Push step pushes: "host/repository" for allowlist
// matching. A repository whose first segment is a host (it has a '.' or a
// ':' or is "localhost") keeps it; otherwise the registry's host is used,
// and official Docker Hub images read docker.io/library/NAME. Expressions
// are kept verbatim. For Docker registries and ACR an expression in the
// repository's first segment may hold a host, so the host is then unknown;
// ECR, GCR and GAR repositories sit below the registry's host.
// `registry_host` is RegistryHost(destination, step.registry), which the
// caller has already computed.
struct PushTarget {
  std::string target;
  bool host_known = true;
  bool path_known = true;
};
PushTarget ResolvePushTarget(v1::Destination destination, absl::string_view registry_host,
                             absl::string_view repo);

// Checks that `host` has the destination's form, e.g. ECR
// <12 digits>.dkr.ecr.<region>.amazonaws.com. Returns an explanation when it
// does not, empty when it does. A label that holds a Harness expression fits
// any rule (its value is unknown until the pipeline runs).
std::string RegistryShapeProblem(v1::Destination destination, absl::string_view host);

}  // namespace buildgate

#endif  // BUILDGATE_GRAMMAR_REGISTRY_H_
