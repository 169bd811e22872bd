#include "grammar/registry.h"

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace buildgate {

namespace {

absl::string_view DefaultHost(v1::Destination destination) {
  switch (destination) {
    case v1::DESTINATION_GCR:
      return "gcr.io";
    case v1::DESTINATION_ACR:
      return "azurecr.io";
    case v1::DESTINATION_DOCKER_REGISTRY:
      return "docker.io";
    default:
      return "";
  }
}

bool LooksLikeHost(absl::string_view segment) {
  return absl::StrContains(segment, '.') || absl::StrContains(segment, ':') ||
         segment == "localhost";
}

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsDnsLabel(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

}  // namespace

HostLabelList HostLabels(absl::string_view host) {
  HostLabelList labels;
  const bool may_hold_expression = FindExpressionOpen(host) != absl::string_view::npos;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i < host.size()) {
      const std::size_t end =
          may_hold_expression ? HarnessExpressionEnd(host, i) : absl::string_view::npos;
      if (end != absl::string_view::npos) {
        i = end - 1;  // A dot inside an expression does not split.
        continue;
      }
      if (host[i] != '.') continue;
    }
    labels.push_back(host.substr(start, i - start));
    start = i + 1;
  }
  return labels;
}

std::optional<EcrHostLabels> ParseEcrHost(absl::string_view host) {
  const HostLabelList labels = HostLabels(host);
  // <aws_account_id>.dkr.ecr.<region>.amazonaws.com[.cn]
  if (labels.size() < 6 || labels[1] != "dkr" || labels[2] != "ecr" || labels[4] != "amazonaws") {
    return std::nullopt;
  }
  return EcrHostLabels{labels[0], labels[3]};
}

std::string RegistryHost(v1::Destination destination, absl::string_view registry) {
  const std::string lower = LowerOutsideExpressions(absl::StripAsciiWhitespace(registry));
  absl::string_view r = lower;
  if (!absl::ConsumePrefix(&r, "https://")) absl::ConsumePrefix(&r, "http://");
  // The host ends at the first '/' outside expressions.
  std::string storage;
  std::string host(r.substr(0, MaskExpressionsView(r, '\0', &storage).find('/')));
  if (host.empty()) return std::string(DefaultHost(destination));
  // Docker Hub's index and registry names all mean docker.io.
  if (host == "index.docker.io" || host == "registry-1.docker.io" ||
      host == "registry.hub.docker.com") {
    return "docker.io";
  }
  return host;
}

PushTarget ResolvePushTarget(v1::Destination destination, absl::string_view registry_host,
                             absl::string_view repo) {
  PushTarget out;
  const absl::string_view r = absl::StripAsciiWhitespace(repo);
  // Find the first '/' outside expressions: the repository's first segment.
  std::string storage;
  const absl::string_view masked = MaskExpressionsView(r, '\0', &storage);
  const std::size_t slash = masked.find('/');
  const absl::string_view first_masked = masked.substr(0, slash);
  // ECR, GCR and GAR name the host in the registry (Harness's account and
  // region, or host field) and the repository below it (imageName,
  // projectID/imageName); Docker registries and ACR take a host in the
  // repository itself.
  const bool repo_may_name_host = destination != v1::DESTINATION_ECR &&
                                  destination != v1::DESTINATION_GCR &&
                                  destination != v1::DESTINATION_GAR;
  if (repo_may_name_host && first_masked.find('\0') != absl::string_view::npos) {
    // An expression in the first segment may turn out to be, or to hold, a
    // host ("<+pipeline.variables.IMAGE>" may be "ghcr.io/acme/api").
    out.host_known = false;
    out.path_known = false;
    out.target = std::string(r);
    return out;
  }
  out.path_known = masked.find('\0') == std::string::npos;
  const absl::string_view first = r.substr(0, slash);
  const bool first_is_literal = first_masked.find('\0') == absl::string_view::npos;
  if (slash != absl::string_view::npos && first_is_literal && LooksLikeHost(first)) {
    out.target = absl::StrCat(absl::AsciiStrToLower(first), r.substr(first.size()));
    return out;
  }
  const absl::string_view host = registry_host;
  out.host_known = !ContainsHarnessExpression(host);
  if (host == "docker.io" && slash == absl::string_view::npos && !r.empty()) {
    out.target = absl::StrCat(host, "/library/", r);  // Official images: docker.io/library/x.
  } else {
    out.target = absl::StrCat(host, "/", r);
  }
  return out;
}

std::string RegistryShapeProblem(v1::Destination destination, absl::string_view host) {
  if (IsHarnessExpression(host)) return "";  // Nothing to check before the pipeline runs.
  const HostLabelList labels = HostLabels(host);
  // A label holding an expression fits any rule: its value is unknown.
  const bool may_hold_expression = FindExpressionOpen(host) != absl::string_view::npos;
  auto unknown = [&](std::size_t i) {
    return may_hold_expression && ContainsHarnessExpression(labels[i]);
  };
  auto digits12 = [&](std::size_t i) {
    return unknown(i) || (AllDigits(labels[i]) && labels[i].size() == 12);
  };
  auto dns = [&](std::size_t i) { return unknown(i) || IsDnsLabel(labels[i]); };
  switch (destination) {
    case v1::DESTINATION_ECR:
      // <aws_account_id>.dkr.ecr.<region>.amazonaws.com[.cn]
      if (labels.size() >= 6 && digits12(0) && labels[1] == "dkr" && labels[2] == "ecr" && dns(3) &&
          labels[4] == "amazonaws" && (labels[5] == "com" || labels[5] == "cn")) {
        return "";
      }
      return "an ECR registry has the form <aws_account_id>.dkr.ecr.<region>.amazonaws.com";
    case v1::DESTINATION_ACR:
      if (labels.size() == 3 && dns(0) && labels[1] == "azurecr" && labels[2] == "io") {
        return "";
      }
      return "an ACR registry has the form <name>.azurecr.io";
    case v1::DESTINATION_GAR:
      if (labels.size() == 3 &&
          (unknown(0) || (absl::EndsWith(labels[0], "-docker") && labels[0].size() > 7)) &&
          labels[1] == "pkg" && labels[2] == "dev") {
        return "";
      }
      return "a GAR registry has the form LOCATION-docker.pkg.dev";
    case v1::DESTINATION_GCR:
      if (host == "gcr.io" || host == "us.gcr.io" || host == "eu.gcr.io" || host == "asia.gcr.io" ||
          (labels.size() == 3 && unknown(0) && labels[1] == "gcr" && labels[2] == "io")) {
        return "";
      }
      return "a GCR registry is gcr.io, us.gcr.io, eu.gcr.io or asia.gcr.io";
    default:
      return "";
  }
}

}  // namespace buildgate
