// What both binaries (`buildgate`, `buildgated`) need around CLI11, the
// argument library they share: typo suggestions, absl::Duration options,
// running an app with the project's exit conventions, and the version text.
//
// CLI11 (Debian's libcli11-dev, header-only) over Abseil flags, which the
// project also links: CLI11 has subcommands with their own --help (exit 0),
// accepts --flag=value and --flag value, refuses a single-valued flag given
// twice instead of letting the last one win, and prints help we control;
// Abseil's --help exits 1 and lists flags by source file.
//
// Thread-compatible: functions keep no state.
#ifndef BUILDGATE_COMMON_COMMAND_LINE_H_
#define BUILDGATE_COMMON_COMMAND_LINE_H_

#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace buildgate {

// The closest of `candidates` to `word` by edit distance, if close enough
// to be a typo (at most a third of its length, at least 1); else "".
std::string ClosestMatch(absl::string_view word, const std::vector<std::string>& candidates);

// Adds --NAME taking a duration such as 500ms, 2s or 1m30s.
CLI::Option* AddDurationOption(CLI::App* app, const std::string& name, absl::Duration* into,
                               const std::string& help);

// Parses `args` (without the program name) into `app`. Returns -1 when the
// caller should go on; otherwise the exit code to return, having printed
// help (exit 0, to `out`) or the error with a "did you mean" suggestion and
// a pointer to --help (exit `usage_exit_code`, to `err`).
int ParseCommandLine(CLI::App& app, std::vector<std::string> args, std::ostream& out,
                     std::ostream& err, int usage_exit_code);

// "PROGRAM VERSION (git REVISION)"; binaries add their libraries' versions.
std::string VersionLine(absl::string_view program);

}  // namespace buildgate

#endif  // BUILDGATE_COMMON_COMMAND_LINE_H_
