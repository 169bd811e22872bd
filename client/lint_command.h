// `buildgate lint FILE|DIR|- ...`: every image build in Harness pipeline
// documents, decided under a policy (offline --policy FILE, or buildgated's
// LintPipeline with --server ADDR --org ORG | --policy FILE), reported as
// text, JSON or SARIF 2.1.0; `--fix` prints a unified diff that makes the
// pipelines compliant, `--write` applies it. Directories are searched
// recursively for *.yaml, *.yml and *.json.
//
// Exit codes as for decide: 0 every build complies, 10 changes needed (or a
// build that cannot be decided from the file), 20 a deny, 2 bad input (any
// file that cannot be read: the others are still reported). With --write,
// the code is that of the fixed files.
//
// Thread-compatible: no state between calls.
#ifndef BUILDGATE_CLIENT_LINT_COMMAND_H_
#define BUILDGATE_CLIENT_LINT_COMMAND_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/buildgate_client.h"
#include "input/limits.h"

namespace buildgate {

struct LintFlags {
  std::vector<std::string> paths;
  std::string policy;
  std::string org;
  std::string output = "text";
  std::string color = "auto";
  bool fix = false;
  bool write = false;
  InputLimits limits;
  ClientOptions client;
};

// Registers `lint` on `app`, filling `flags` when parsed.
CLI::App* AddLintCommand(CLI::App& app, LintFlags* flags);

// `out_is_tty`/`err_is_tty`: colours (with --color auto) and the progress line.
int RunLint(const LintFlags& flags, std::istream& in, std::ostream& out, std::ostream& err,
            bool out_is_tty, bool err_is_tty);

}  // namespace buildgate

#endif  // BUILDGATE_CLIENT_LINT_COMMAND_H_
