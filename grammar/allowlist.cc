#include "grammar/allowlist.h"

#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "grammar/expression.h"

namespace buildgate {
namespace {

// Glob within one host label or path segment: `*` matches any run of the
// text's characters. Read with a pattern as `text`, a `*` of the text is a
// character only a `*` of `glob` can consume: that is the inclusion test.
// Host labels compare case-insensitively (`fold_case`), path segments exactly.
bool SegmentGlob(absl::string_view glob, absl::string_view text, bool fold_case) {
  auto same = [fold_case](char a, char b) {
    return fold_case ? absl::ascii_tolower(static_cast<unsigned char>(a)) ==
                           absl::ascii_tolower(static_cast<unsigned char>(b))
                     : a == b;
  };
  std::size_t g = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = t;
    } else if (g < glob.size() && same(glob[g], text[t]) && text[t] != '*') {
      ++g;
      ++t;
    } else if (star != absl::string_view::npos) {
      g = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool IsHostSeparator(char c) { return c == '.' || c == ':'; }

// Hosts: the same separators in the same places, each label by SegmentGlob.
bool HostCovers(absl::string_view glob, absl::string_view host) {
  std::size_t g = 0, h = 0;
  for (;;) {
    std::size_t g_end = g, h_end = h;
    while (g_end < glob.size() && !IsHostSeparator(glob[g_end])) ++g_end;
    while (h_end < host.size() && !IsHostSeparator(host[h_end])) ++h_end;
    if (!SegmentGlob(glob.substr(g, g_end - g), host.substr(h, h_end - h), /*fold_case=*/true)) {
      return false;
    }
    const bool glob_done = g_end == glob.size();
    const bool host_done = h_end == host.size();
    if (glob_done || host_done) return glob_done && host_done;
    if (glob[g_end] != host[h_end]) return false;  // '.' against ':'.
    g = g_end + 1;
    h = h_end + 1;
  }
}

// Path segments; inline for the usual few, so matching allocates nothing.
using Segments = absl::InlinedVector<absl::string_view, 16>;

// Paths: segment lists where a `**` segment spans any number of segments.
bool PathCovers(const Segments& glob, const Segments& path) {
  const std::size_t n = glob.size(), m = path.size();
  // can[i][j]: glob[i..] covers path[j..].
  absl::InlinedVector<char, 512> can((n + 1) * (m + 1), 0);
  auto at = [&](std::size_t i, std::size_t j) -> char& { return can[i * (m + 1) + j]; };
  at(n, m) = 1;
  for (std::size_t i = n + 1; i-- > 0;) {
    for (std::size_t j = m + 1; j-- > 0;) {
      if (i == n) continue;
      if (glob[i] == "**") {
        at(i, j) = at(i + 1, j) || (j < m && at(i, j + 1));
      } else {
        at(i, j) = j < m && path[j] != "**" && SegmentGlob(glob[i], path[j], /*fold_case=*/false) &&
                   at(i + 1, j + 1);
      }
    }
  }
  return at(0, 0);
}

struct Split {
  absl::string_view host;  // Compared case-insensitively.
  Segments path;
};

Split SplitPattern(absl::string_view s) {
  Split out;
  const std::size_t slash = s.find('/');
  out.host = s.substr(0, slash);
  if (slash == absl::string_view::npos) return out;
  for (absl::string_view rest = s.substr(slash + 1);;) {
    const std::size_t end = rest.find('/');
    out.path.push_back(rest.substr(0, end));
    if (end == absl::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return out;
}

// The usual pattern has no `**` segment. Then it covers a path exactly when
// both have as many segments and each segment covers its own (what
// PathCovers' table comes to without `**`), read in one pass with nothing
// split or allocated. Empty when `glob` may hold a `**` segment.
std::optional<bool> LockstepPathCovers(absl::string_view glob, absl::string_view path) {
  if (glob.find("**") != absl::string_view::npos) return std::nullopt;
  for (;;) {
    const std::size_t g_end = glob.find('/');
    const std::size_t p_end = path.find('/');
    const absl::string_view segment = path.substr(0, p_end);
    if (segment == "**" || !SegmentGlob(glob.substr(0, g_end), segment, /*fold_case=*/false)) {
      return false;
    }
    const bool glob_done = g_end == absl::string_view::npos;
    const bool path_done = p_end == absl::string_view::npos;
    if (glob_done || path_done) return glob_done && path_done;
    glob.remove_prefix(g_end + 1);
    path.remove_prefix(p_end + 1);
  }
}

}  // namespace

bool AllowlistCovers(absl::string_view wider, absl::string_view narrower) {
  const std::size_t w_slash = wider.find('/');
  const std::size_t n_slash = narrower.find('/');
  if (!HostCovers(wider.substr(0, w_slash), narrower.substr(0, n_slash))) return false;
  // No path on either side: covered only when neither has one.
  if (w_slash == absl::string_view::npos || n_slash == absl::string_view::npos) {
    if (w_slash == n_slash) return true;
    if (w_slash == absl::string_view::npos) return false;
  } else if (const std::optional<bool> covers =
                 LockstepPathCovers(wider.substr(w_slash + 1), narrower.substr(n_slash + 1))) {
    return *covers;
  }
  return PathCovers(SplitPattern(wider).path, SplitPattern(narrower).path);
}

bool AllowlistAdmits(absl::string_view pattern, absl::string_view target) {
  // A target is a pattern without wildcards (a `*` in it is no repository
  // character, and can only be consumed by a wildcard).
  return AllowlistCovers(pattern, target);
}

bool AllowlistAdmitsEveryValue(absl::string_view pattern, absl::string_view target) {
  const std::string masked = MaskExpressions(target, '\0');
  const std::size_t slash = masked.find('/');
  if (masked.substr(0, slash).find('\0') != std::string::npos) return false;  // Host unknown.
  if (slash == std::string::npos) return AllowlistCovers(pattern, target);
  std::string widened(target.substr(0, slash));
  std::size_t start = slash + 1;
  for (;;) {
    const std::size_t end = masked.find('/', start);
    const absl::string_view segment =
        absl::string_view(masked).substr(start, end == std::string::npos ? end : end - start);
    widened += '/';
    if (segment.find('\0') != absl::string_view::npos) {
      widened += "**";
    } else {
      widened.append(target.data() + start, segment.size());
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return AllowlistCovers(pattern, widened);
}

bool AllowlistHostAdmits(absl::string_view pattern, absl::string_view host) {
  return HostCovers(SplitPattern(pattern).host, host);
}

std::string AllowlistPatternProblem(absl::string_view pattern) {
  const std::size_t slash = pattern.find('/');
  if (slash == absl::string_view::npos || slash == 0) {
    return "a pattern is HOST/PATH, e.g. docker.io/acme/* or *.azurecr.io/** (** spans path "
           "segments)";
  }
  for (absl::string_view segment : absl::StrSplit(pattern.substr(slash + 1), '/')) {
    if (segment != "**" && absl::StrContains(segment, "**")) {
      return "** must be a whole path segment (acme/** or acme/**/app); * matches within a segment";
    }
  }
  return "";
}

}  // namespace buildgate
