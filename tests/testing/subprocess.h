// Test helper: start a program with its output in files, signal it, wait
// for it; run a command capturing stdout and the exit code; and the files
// around them (reading, waiting for, a scratch directory).
//
// Thread-compatible.
#ifndef BUILDGATE_TESTS_TESTING_SUBPROCESS_H_
#define BUILDGATE_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace buildgate::testing {

class Subprocess {
 public:
  // Starts argv[0] with stdout/stderr appended to the given files.
  Subprocess(const std::vector<std::string>& argv, const std::string& stdout_path,
             const std::string& stderr_path);
  ~Subprocess();  // Kills the process if still running.

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits up to `seconds`; returns the exit status (WEXITSTATUS) or -1 on
  // timeout or abnormal exit.
  int Wait(double seconds);
  // Peak resident memory of the exited process (KiB), 0 before Wait.
  long max_rss_kb() const { return max_rss_kb_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  long max_rss_kb_ = 0;
};

struct ProcessResult {
  int exit_code = -1;  // -1: killed, or still running after the timeout.
  std::string out;
  std::string err;
  long max_rss_kb = 0;  // Peak resident memory.
};

// Runs argv (no shell, stdin inherited) for up to `seconds`, capturing
// stdout, stderr and its peak memory.
ProcessResult RunProcess(const std::vector<std::string>& argv, double seconds = 60);

struct CommandResult {
  int exit_code = -1;
  std::string out;
};

// Runs `command` through /bin/sh, capturing stdout (stderr goes to stdout
// when `merge_stderr`).
CommandResult RunCommand(const std::string& command, bool merge_stderr = false);

// Reads a whole file ("" if missing).
std::string ReadAll(const std::string& path);

// Waits until `path` exists and is non-empty; false on timeout.
bool WaitForFile(const std::string& path, double seconds);

// `name` in this process's scratch directory (under the temp directory,
// named for the process so concurrent runs never share a file, and removed
// with everything in it when the process exits normally).
std::string ScratchPath(const std::string& name);

// A new, empty directory for the running test: PREFIX_PID_TEST under the
// temp directory (what a previous run left there is removed first), so
// concurrent runs and tests never share files. The fixture removes it.
std::filesystem::path FreshTestDirectory(const std::string& prefix);

}  // namespace buildgate::testing

#endif  // BUILDGATE_TESTS_TESTING_SUBPROCESS_H_
