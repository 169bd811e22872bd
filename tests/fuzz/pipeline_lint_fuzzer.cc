// Fuzz target: pipeline documents through the lint layer under the example
// policy "acme". Every input gives a report or an INVALID_ARGUMENT; a
// report's fixes, applied, give a document that still lints, with as many
// findings. The fixed document also goes the `lint --fix --write` way: the
// input is saved in a scratch directory of this process, replaced by the
// fix with ReplaceFileContent (common/file.h), and must read back as the
// fix, with no temp file left beside it.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "absl/strings/string_view.h"
#include "common/file.h"
#include "lint/fix.h"
#include "lint/lint.h"
#include "tests/fuzz/fuzz_policy.h"

namespace {

// A directory of this process's own, removed when it exits; on tmpfs
// (/dev/shm) where there is one, so the fsyncs of each write cost nothing.
const std::string& ScratchDir() {
  static const struct Scratch {
    std::string dir;
    Scratch() {
      std::error_code ec;
      const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                             ? std::filesystem::path("/dev/shm")
                                             : std::filesystem::temp_directory_path();
      dir = (base / ("bg_fuzz_lint_" + std::to_string(::getpid()))).string();
      std::filesystem::remove_all(dir, ec);
      if (!std::filesystem::create_directories(dir, ec)) std::abort();
    }
    ~Scratch() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } scratch;
  return scratch.dir;
}

// Saves `text` as a file, replaces it by `fixed` as `lint --fix --write`
// does, and returns what the file then holds; aborts on any failure or a
// file left beside it.
std::string WriteFixThroughTheFileSystem(absl::string_view text, const std::string& fixed) {
  const std::string path = ScratchDir() + "/fuzz.yaml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out.flush()) std::abort();
  }
  auto read = buildgate::ReadFileSnapshot(path, text.size() + 1);
  if (!read.ok() || read->content != text) std::abort();
  if (!buildgate::ReplaceFileContent(path, *read, fixed).ok()) std::abort();
  auto written = buildgate::ReadFileToString(path, fixed.size() + 1);
  if (!written.ok()) std::abort();
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ScratchDir())) {
    (void)entry;
    ++entries;
  }
  if (entries != 1) std::abort();
  return *std::move(written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const buildgate::CompiledPolicySet& policy = buildgate::fuzz::ExamplePolicy();
  auto result = buildgate::lint::LintDocument(policy, text, "fuzz.yaml");
  if (!result.ok()) {
    if (result.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  const buildgate::lint::FileFix fix = buildgate::lint::PlanFixes(text, *result);
  const std::string fixed = buildgate::lint::ApplyFixes(text, fix);
  if (fixed == text) return 0;
  const std::string written = WriteFixThroughTheFileSystem(text, fixed);
  if (written != fixed) std::abort();
  auto again = buildgate::lint::LintDocument(policy, written, "fuzz.yaml");
  if (!again.ok() || again->report.findings_size() != result->report.findings_size()) std::abort();
  (void)buildgate::lint::UnifiedDiff(text, fixed, "fuzz.yaml");
  return 0;
}
