// The `buildgate` command line (CLI11, see common/command_line.h):
//
//   buildgate decide     --policy FILE --step FILE... [-o text|json|yaml]   (offline)
//   buildgate decide     --server ADDR (--org ORG | --policy FILE) --step FILE...
//   buildgate validate   --policy FILE|DIR... [--server ADDR]
//   buildgate lint       FILE|DIR|-... (--policy FILE | --server ADDR --org ORG) [-o text|json|sarif] [--fix [--write]]
//   buildgate test       PATH... [-o text|json]
//   buildgate diff       --from OLD --to NEW PIPELINES... [-o text|json]
//   buildgate health     --server ADDR
//   buildgate status     --server ADDR
//   buildgate list       --server ADDR
//   buildgate get ORG    --server ADDR [-o yaml|json]
//   buildgate version
//   buildgate completion bash|zsh
//
// Every command has --help (exit 0). FILE may be `-` for standard input
// (once per run); a directory stands for its *.yaml, *.yml and *.json files.
// With several inputs every one is checked and the run fails if any does.
//
// Exit codes: client/exit_codes.h.
//
// Thread-compatible: RunCli keeps no state between calls.
#ifndef BUILDGATE_CLIENT_CLI_H_
#define BUILDGATE_CLIENT_CLI_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "buildgate/v1/decision.pb.h"
#include "client/exit_codes.h"

namespace buildgate {

// Runs the CLI with `args` (without the program name); `-` reads `in`.
int RunCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
           std::ostream& err);
int RunCli(int argc, char** argv);

// The exit code for a verdict.
int ExitCodeForVerdict(v1::Verdict verdict);

// Human-readable rendering of a decision (the CLI's `-o text`).
std::string DecisionToText(const v1::Decision& decision);

}  // namespace buildgate

#endif  // BUILDGATE_CLIENT_CLI_H_
