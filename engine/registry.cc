#include "engine/registry.h"

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace buildgate {

std::size_t HarnessExpressionEnd(absl::string_view text, std::size_t start) {
  if (text.substr(start, 2) != "<+") return absl::string_view::npos;
  int depth = 0;    // Open <+ ... > levels.
  int parens = 0;   // Open ( ... ) inside the expression.
  char quote = 0;   // The quote we are inside, if any.
  for (std::size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == '\\' && i + 1 < text.size()) {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '<' && i + 1 < text.size() && text[i + 1] == '+') {
      ++depth;
      ++i;
    } else if (c == '(') {
      ++parens;
    } else if (c == ')') {
      if (parens > 0) --parens;
    } else if (c == '>' && parens == 0) {
      if (--depth == 0) return i + 1;
    }
  }
  return absl::string_view::npos;
}

bool IsHarnessExpression(absl::string_view value) {
  return value.size() > 3 && HarnessExpressionEnd(value, 0) == value.size();
}

bool ContainsHarnessExpression(absl::string_view text) {
  for (std::size_t at = text.find("<+"); at != absl::string_view::npos; at = text.find("<+", at + 1)) {
    if (HarnessExpressionEnd(text, at) != absl::string_view::npos) return true;
  }
  return false;
}

namespace {

absl::string_view DefaultHost(v1::Destination destination) {
  switch (destination) {
    case v1::DESTINATION_GCR: return "gcr.io";
    case v1::DESTINATION_ACR: return "azurecr.io";
    case v1::DESTINATION_DOCKER_REGISTRY: return "docker.io";
    default: return "";
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

std::string LowerOutsideExpressions(absl::string_view text) {
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t end = HarnessExpressionEnd(out, i);
    if (end != absl::string_view::npos) {
      i = end - 1;  // Expressions are case-sensitive: kept as written.
      continue;
    }
    out[i] = absl::ascii_tolower(static_cast<unsigned char>(out[i]));
  }
  return out;
}

std::vector<absl::string_view> HostLabels(absl::string_view host) {
  std::vector<absl::string_view> labels;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i < host.size()) {
      const std::size_t end = HarnessExpressionEnd(host, i);
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

std::optional<EcrHost> ParseEcrHost(absl::string_view host) {
  const std::vector<absl::string_view> labels = HostLabels(host);
  // <aws_account_id>.dkr.ecr.<region>.amazonaws.com[.cn]
  if (labels.size() < 6 || labels[1] != "dkr" || labels[2] != "ecr" || labels[4] != "amazonaws") {
    return std::nullopt;
  }
  return EcrHost{std::string(labels[0]), std::string(labels[3])};
}

std::string RegistryHost(v1::Destination destination, absl::string_view registry) {
  const std::string lower = LowerOutsideExpressions(absl::StripAsciiWhitespace(registry));
  absl::string_view r = lower;
  if (!absl::ConsumePrefix(&r, "https://")) absl::ConsumePrefix(&r, "http://");
  std::string host(r.substr(0, r.find('/')));
  if (host.empty()) return std::string(DefaultHost(destination));
  // Docker Hub's index and registry names all mean docker.io.
  if (host == "index.docker.io" || host == "registry-1.docker.io" ||
      host == "registry.hub.docker.com") {
    return "docker.io";
  }
  return host;
}

std::string PushTarget(v1::Destination destination, absl::string_view registry,
                       absl::string_view repo) {
  absl::string_view r = absl::StripAsciiWhitespace(repo);
  const absl::string_view first = r.substr(0, r.find('/'));
  if (r.find('/') != absl::string_view::npos && LooksLikeHost(first)) {
    return absl::StrCat(absl::AsciiStrToLower(first), r.substr(first.size()));
  }
  std::string host = RegistryHost(destination, registry);
  if (host == "docker.io" && r.find('/') == absl::string_view::npos && !r.empty()) {
    return absl::StrCat(host, "/library/", r);  // Official images: docker.io/library/x.
  }
  return absl::StrCat(host, "/", r);
}

std::string RegistryShapeProblem(v1::Destination destination, absl::string_view host) {
  // Split into at most kMaxLabels dot-separated labels without allocating.
  constexpr std::size_t kMaxLabels = 8;
  absl::string_view label_storage[kMaxLabels];
  std::size_t count = 0;
  for (absl::string_view rest = host; count < kMaxLabels;) {
    const std::size_t dot = rest.find('.');
    label_storage[count++] = rest.substr(0, dot);
    if (dot == absl::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  struct Labels {
    const absl::string_view* data;
    std::size_t n;
    std::size_t size() const { return n; }
    absl::string_view operator[](std::size_t i) const { return data[i]; }
  } labels{label_storage, count};
  switch (destination) {
    case v1::DESTINATION_ECR:
      // <aws_account_id>.dkr.ecr.<region>.amazonaws.com[.cn]
      if (labels.size() >= 6 && AllDigits(labels[0]) && labels[0].size() == 12 &&
          labels[1] == "dkr" && labels[2] == "ecr" && IsDnsLabel(labels[3]) &&
          labels[4] == "amazonaws" && (labels[5] == "com" || labels[5] == "cn")) {
        return "";
      }
      return "an ECR registry has the form <aws_account_id>.dkr.ecr.<region>.amazonaws.com";
    case v1::DESTINATION_ACR:
      if (labels.size() == 3 && IsDnsLabel(labels[0]) && labels[1] == "azurecr" &&
          labels[2] == "io") {
        return "";
      }
      return "an ACR registry has the form <name>.azurecr.io";
    case v1::DESTINATION_GAR:
      if (labels.size() == 3 && absl::EndsWith(labels[0], "-docker") &&
          labels[0].size() > 7 && labels[1] == "pkg" && labels[2] == "dev") {
        return "";
      }
      return "a GAR registry has the form LOCATION-docker.pkg.dev";
    case v1::DESTINATION_GCR:
      if (host == "gcr.io" || host == "us.gcr.io" || host == "eu.gcr.io" ||
          host == "asia.gcr.io") {
        return "";
      }
      return "a GCR registry is gcr.io, us.gcr.io, eu.gcr.io or asia.gcr.io";
    default:
      return "";
  }
}

}  // namespace buildgate
