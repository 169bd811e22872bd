// Commands about policies over many inputs:
//
//   buildgate test PATH... [-o text|json]
//     policy tests (v1::PolicyTestFile: a policy, and steps or pipelines with
//     the decisions or findings they must give), in the way of `opa test`;
//     one line per case, a closing "N passed, M failed"; exit 0 when all
//     pass, 4 when any fails, 2 when a test file cannot be loaded.
//   buildgate diff --from OLD --to NEW PIPELINES... [-o text|json]
//     the impact of a policy change: every build whose decision (verdict,
//     builder, privileged, runAsUser) differs, grouped and counted; exit 0
//     when none changes, 4 when some do, 2 on bad input.
//
// Directories are searched recursively for *.yaml, *.yml and *.json.
// Thread-compatible: no state between calls.
#ifndef BUILDGATE_CLIENT_POLICY_COMMANDS_H_
#define BUILDGATE_CLIENT_POLICY_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "input/limits.h"

namespace buildgate {

struct TestFlags {
  std::vector<std::string> paths;
  std::string output = "text";
};

struct DiffFlags {
  std::string from;
  std::string to;
  std::vector<std::string> paths;
  std::string output = "text";
  InputLimits limits;
};

CLI::App* AddTestCommand(CLI::App& app, TestFlags* flags);
CLI::App* AddDiffCommand(CLI::App& app, DiffFlags* flags);

int RunTest(const TestFlags& flags, std::ostream& out, std::ostream& err);
int RunDiff(const DiffFlags& flags, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace buildgate

#endif  // BUILDGATE_CLIENT_POLICY_COMMANDS_H_
