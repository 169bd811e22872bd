// Registry allowlist patterns: which push targets a pattern admits, and
// whether one pattern admits no more than another (the tighten-only rule of
// overrides). Both answers come from one matcher, so they cannot disagree.
//
// A pattern is HOST/PATH, matched against a push target HOST/REPOSITORY
// part by part, never as one string:
//  - HOST is compared case-insensitively; `*` matches within one label: it
//    never crosses `.`, `:` or `/` (`*.dkr.ecr.us-east-1.amazonaws.com`
//    admits `123456789012.dkr.ecr.us-east-1.amazonaws.com`, not
//    `evil.example.com/x.dkr.ecr.us-east-1.amazonaws.com` nor a longer host).
//  - PATH is split into `/`-separated segments; `*` matches within one
//    segment, and a segment that is exactly `**` matches any number of
//    segments, none included (`docker.io/acme/*` admits `docker.io/acme/api`,
//    not `docker.io/acme/team/api`; `docker.io/acme/**` admits both).
// Inclusion is decided by the same matcher reading the narrower pattern as
// text in which each `*` or `**` may only be consumed by a `*` or `**` of
// the wider one: sound (an override accepted as tighter never admits a
// target its parent refuses), though it may refuse a pattern that only the
// union of several parent patterns covers.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_GRAMMAR_ALLOWLIST_H_
#define BUILDGATE_GRAMMAR_ALLOWLIST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace buildgate {

// True if `pattern` admits the push target `target` ("host/repository").
bool AllowlistAdmits(absl::string_view pattern, absl::string_view target);

// True if `pattern` admits `target` whatever values its Harness expressions
// take when the pipeline runs. `target`'s host must hold none; a path
// segment holding one is read as `**` (the value may hold '/').
bool AllowlistAdmitsEveryValue(absl::string_view pattern, absl::string_view target);

// True if `pattern`'s host part admits `host` (some repository on `host`
// could be admitted).
bool AllowlistHostAdmits(absl::string_view pattern, absl::string_view host);

// True if every target `narrower` admits is admitted by `wider`.
bool AllowlistCovers(absl::string_view wider, absl::string_view narrower);

// Why `pattern` is not a valid allowlist pattern, or "" when it is.
std::string AllowlistPatternProblem(absl::string_view pattern);

}  // namespace buildgate

#endif  // BUILDGATE_GRAMMAR_ALLOWLIST_H_
