// The `buildgate` command line: offline decisions and policy validation.
//
//   buildgate decide   --policy FILE --step FILE [-o text|json|yaml]   (offline)
//   buildgate decide   --server ADDR (--org ORG | --policy FILE) --step FILE
//   buildgate validate --policy FILE
//   buildgate health   --server ADDR
//
// Exit codes (stable, documented in README.md):
//   0  allow as proposed (decide) / policy valid (validate)
//   10 allow with changes
//   20 deny
//   2  bad input: usage error, unreadable or invalid policy/step file, or
//      the server refused the request (INVALID_ARGUMENT, NOT_FOUND, ...)
//   3  server unavailable, deadline exceeded, or not SERVING (health)
//   1  internal error
//
// Thread-compatible: RunCli keeps no state between calls.
#ifndef BUILDGATE_CLIENT_CLI_H_
#define BUILDGATE_CLIENT_CLI_H_

#include <ostream>
#include <string>
#include <vector>

#include "buildgate/v1/decision.pb.h"

namespace buildgate {

inline constexpr int kExitAllow = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitUnavailable = 3;
inline constexpr int kExitAllowWithChanges = 10;
inline constexpr int kExitDeny = 20;

// Runs the CLI with `args` (without the program name).
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunCli(int argc, char** argv);

// The exit code for a verdict.
int ExitCodeForVerdict(v1::Verdict verdict);

// Human-readable rendering of a decision (the CLI's `-o text`).
std::string DecisionToText(const v1::Decision& decision);

}  // namespace buildgate

#endif  // BUILDGATE_CLIENT_CLI_H_
