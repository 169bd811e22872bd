#include "grammar/reference.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "grammar/expression.h"
#include "input/limits.h"

namespace buildgate {
namespace {

// Character classes of the reference grammar, one table lookup per byte.
enum : uint8_t { kLowerAlnum = 1, kSplit = 2 };  // kSplit: '@', '/', ':' and NUL.
constexpr std::array<uint8_t, 256> kClasses = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLowerAlnum;
  for (int c = '0'; c <= '9'; ++c) t[c] = kLowerAlnum;
  for (unsigned char c : {'@', '/', ':', '\0'}) t[c] = kSplit;
  return t;
}();

bool IsLowerAlnum(char c) { return kClasses[static_cast<unsigned char>(c)] & kLowerAlnum; }

// path-component ( "/" path-component )*, where
// path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
bool IsPathComponents(absl::string_view s) {
  std::size_t i = 0;
  auto alnums = [&] {
    const std::size_t start = i;
    while (i < s.size() && IsLowerAlnum(s[i])) ++i;
    return i > start;
  };
  if (!alnums()) return false;
  while (i < s.size()) {
    if (s[i] == '/') {
      ++i;
    } else if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnums()) return false;
  }
  return true;
}

// host [":" port], host being DNS labels ([A-Za-z0-9] with inner '-').
bool IsDomain(absl::string_view s) {
  const std::size_t colon = s.rfind(':');
  absl::string_view host = s.substr(0, colon);
  if (colon != absl::string_view::npos) {
    const absl::string_view port = s.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return absl::ascii_isdigit(c); })) {
      return false;
    }
  }
  if (host.empty() || host.size() > 253) return false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i < host.size() && host[i] != '.') continue;
    const absl::string_view label = host.substr(start, i - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    start = i + 1;
  }
  return true;
}

bool LooksLikeDomain(absl::string_view component) {
  return absl::StrContains(component, '.') || absl::StrContains(component, ':') ||
         component == "localhost";
}

std::string DigestProblem(absl::string_view digest) {
  const std::size_t colon = digest.find(':');
  if (colon == absl::string_view::npos || colon == 0)
    return "a digest is ALGORITHM:HEX, e.g. sha256:...";
  const absl::string_view hex = digest.substr(colon + 1);
  if (hex.size() < 32 || !std::all_of(hex.begin(), hex.end(), [](char c) {
        return absl::ascii_isxdigit(c) && !absl::ascii_isupper(c);
      })) {
    return "a digest's value is at least 32 lower-case hex digits";
  }
  if (digest.substr(0, colon) == "sha256" && hex.size() != 64)
    return "a sha256 digest has 64 hex digits";
  return "";
}

// Where the grammar splits a masked reference (expressions as NUL), found in
// one pass: every position is of the part before the first '@', the name
// and tag, which is all that is split further.
struct Splits {
  std::size_t at = absl::string_view::npos;           // The first '@'.
  std::size_t first_slash = absl::string_view::npos;  // Before `at`.
  std::size_t last_slash = absl::string_view::npos;   // Before `at`.
  std::size_t last_colon = absl::string_view::npos;   // Before `at`.
  std::size_t first_nul = absl::string_view::npos;    // Before `at`.
  std::size_t last_nul = absl::string_view::npos;     // Before `at`.
};

Splits FindSplits(absl::string_view m) {
  Splits s;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (!(kClasses[static_cast<unsigned char>(m[i])] & kSplit)) continue;
    switch (m[i]) {
      case '@':
        s.at = i;
        return s;
      case '/':
        if (s.first_slash == absl::string_view::npos) s.first_slash = i;
        s.last_slash = i;
        break;
      case ':':
        s.last_colon = i;
        break;
      case '\0':
        if (s.first_nul == absl::string_view::npos) s.first_nul = i;
        s.last_nul = i;
        break;
      default:
        break;
    }
  }
  return s;
}

// Why `text` is not an image reference, or "" with `*out` filled.
std::string Problem(absl::string_view text, ImageReference* out) {
  constexpr auto npos = absl::string_view::npos;
  auto invalid = [](absl::string_view why) { return std::string(why); };
  if (text.empty()) return invalid("empty");
  if (text.size() > 255 + 1 + 128 + 1 + 135) return invalid("too long");
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) return invalid("a NUL byte");
  // Split by the grammar with every expression masked (as NUL, which the
  // text has none of): a ':', '/' or '@' inside one is not a separator.
  std::string storage;
  const absl::string_view m = MaskExpressionsView(text, '\0', &storage);
  auto original = [&](absl::string_view part) {  // The same characters in `text`.
    return text.substr(part.data() - m.data(), part.size());
  };
  const Splits s = FindSplits(m);
  ImageReference& ref = *out;
  absl::string_view rest = m;
  if (s.at != npos) {
    const absl::string_view digest = m.substr(s.at + 1);
    rest = m.substr(0, s.at);
    ref.digest = original(digest);
    ref.digest_is_expression = std::memchr(digest.data(), '\0', digest.size()) != nullptr;
    if (!ref.digest_is_expression) {
      if (std::string why = DigestProblem(ref.digest); !why.empty()) return why;
    }
  }
  // A tag follows the last ':' that comes after the last '/'.
  if (s.last_colon != npos && (s.last_slash == npos || s.last_colon > s.last_slash)) {
    const absl::string_view tag = rest.substr(s.last_colon + 1);
    rest = rest.substr(0, s.last_colon);
    ref.tag = original(tag);
    ref.tag_is_expression = s.last_nul != npos && s.last_nul > s.last_colon;
    if (!ref.tag_is_expression) {
      if (std::string why = TagProblem(ref.tag); !why.empty()) return why;
    } else if (tag.empty() || tag.front() == '.' || tag.front() == '-') {
      return invalid("a tag starts with a letter, digit or '_'");
    }
  }
  if (s.first_nul != npos && s.first_nul < rest.size()) {
    return invalid(
        "the registry or repository holds a Harness expression, so the image cannot be known "
        "before the pipeline runs; name it literally (an expression in the tag or digest is fine)");
  }
  // The first '/' of `rest` is the first of the name: a tag has none.
  if (s.first_slash != npos && s.first_slash < rest.size() &&
      LooksLikeDomain(rest.substr(0, s.first_slash))) {
    ref.domain = original(rest.substr(0, s.first_slash));
    rest = rest.substr(s.first_slash + 1);
    if (!IsDomain(ref.domain)) return invalid("the registry host is not a host[:port]");
  }
  if (rest.empty()) return invalid("no repository");
  if (rest.size() > 255) return invalid("a repository name has at most 255 characters");
  if (!IsPathComponents(rest)) {
    return invalid(
        "a repository is lower-case letters and digits separated by '.', '_', '__', '-' or '/'");
  }
  ref.repository = original(rest);
  if (!ref.domain.empty()) {
    for (absl::string_view hub : {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
      if (absl::EqualsIgnoreCase(ref.domain, hub)) ref.domain = "";
    }
  }
  return "";
}

}  // namespace

std::string TagProblem(absl::string_view tag) {
  if (tag.empty()) return "a tag is not empty";
  if (tag.size() > 128)
    return absl::StrCat("a tag has at most 128 characters, this one ", tag.size());
  auto word = [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag[0])) return "a tag starts with a letter, digit or '_'";
  for (char c : tag) {
    if (!word(c) && c != '.' && c != '-')
      return "a tag holds only letters, digits, '_', '.' and '-'";
  }
  return "";
}

std::string PluginMirrorProblem(absl::string_view mirror) {
  if (mirror.empty()) return "empty";
  if (absl::StrContains(mirror, "://"))
    return "a mirror has no scheme, e.g. registry.example.com/plugins";
  if (ContainsHarnessExpression(mirror) || absl::StrContains(mirror, '*')) {
    return "a mirror is a literal registry prefix (no expressions or wildcards)";
  }
  if (absl::EndsWith(mirror, "/")) return "no trailing '/'";
  if (absl::AsciiStrToLower(mirror) != mirror) return "write the mirror in lower case";
  // Parse as the name of an image under the mirror.
  const std::string probe = absl::StrCat(mirror, "/probe");
  const absl::StatusOr<ImageReference> ref = ParseImageReference(probe, "mirror");
  if (!ref.ok() || !ref->tag.empty() || !ref->digest.empty()) {
    return "a registry host with an optional path, e.g. registry.example.com/plugins";
  }
  if (ref->domain.empty()) {
    return LooksLikeDomain(mirror.substr(0, mirror.find('/')))
               ? "Docker Hub itself is not a mirror; list the registry that mirrors it"
               : "a mirror starts with a registry host such as registry.example.com";
  }
  return "";
}

std::string RepositoryProblem(absl::string_view repository) {
  // 'a' fits every part of the grammar, so only the text around
  // expressions is judged. Upper case is let through: the brief's own
  // example pushes to myDockerHub1234/test, and Docker Hub user names are
  // matched case-insensitively.
  std::string storage;
  absl::string_view masked = MaskExpressionsView(repository, 'a', &storage);
  if (std::any_of(masked.begin(), masked.end(), [](char c) { return absl::ascii_isupper(c); })) {
    storage = absl::AsciiStrToLower(masked);
    masked = storage;
  }
  ImageReference ref;
  if (std::string why = Problem(masked, &ref); !why.empty()) return why;
  if (!ref.tag.empty() || !ref.digest.empty())
    return "a repository has no tag or digest; list tags in tags";
  return "";
}

absl::StatusOr<ImageReference> ParseImageReference(absl::string_view text,
                                                   absl::string_view field) {
  ImageReference ref;
  if (std::string why = Problem(text, &ref); !why.empty()) {
    return InvalidField(field, absl::StrCat(QuoteInput(text), " is not an image reference: ", why));
  }
  return ref;
}

absl::string_view ImageNameOf(absl::string_view image) {
  std::string storage;  // Only used when the image holds an expression.
  const absl::string_view masked = MaskExpressionsView(image, 'x', &storage);
  std::size_t end = std::min(masked.find('@'), masked.size());
  const std::size_t slash = masked.rfind('/', end);
  const std::size_t colon = masked.rfind(':', end);
  if (colon != absl::string_view::npos && (slash == absl::string_view::npos || colon > slash)) {
    end = colon;
  }
  return image.substr(0, end);
}

}  // namespace buildgate
