// The exit codes of the `buildgate` command, and which of two is the more
// serious. Every command and the helpers below them use these; nothing else
// defines an exit code.
//
// Exit codes (stable, documented in README.md):
//   0  allow as proposed (decide) / policy valid (validate) / serving
//   10 allow with changes (scripts under `set -e` must expect it)
//   20 deny
//   2  bad input: usage error, unreadable or invalid policy/step file, or
//      the server refused the request (INVALID_ARGUMENT, NOT_FOUND, ...)
//   3  server unavailable, deadline exceeded, or not SERVING (health)
//   1  internal error
//   4  test: a policy test failed; diff: a decision changes
// With several inputs the run exits with the most serious: 2, then 3, then
// 1, then 20, then 10, else 0 (Worse).
//
// Thread-safe: constants and a pure function.
#ifndef BUILDGATE_CLIENT_EXIT_CODES_H_
#define BUILDGATE_CLIENT_EXIT_CODES_H_

namespace buildgate {

inline constexpr int kExitAllow = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitUnavailable = 3;
inline constexpr int kExitAllowWithChanges = 10;
inline constexpr int kExitDeny = 20;
// `test`: a case failed; `diff`: a decision changed.
inline constexpr int kExitFailedOrChanged = 4;

// The more serious of two exit codes, in the order above.
int Worse(int a, int b);

}  // namespace buildgate

#endif  // BUILDGATE_CLIENT_EXIT_CODES_H_
