#include "pipeline/harness_pipeline.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/input_error.h"
#include "common/status.h"
#include "input/yaml_document.h"
#include "pipeline/internal/document_walker.h"

namespace buildgate::pipeline {
namespace {

constexpr std::size_t kMaxIdentifier = 128;

}  // namespace

bool IsHarnessIdentifier(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdentifier) return false;
  if (!(absl::ascii_isalpha(static_cast<unsigned char>(id[0])) || id[0] == '_')) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$')) return false;
  }
  return true;
}

std::string SanitizeHarnessIdentifier(absl::string_view id) {
  std::string out;
  if (id.empty() || absl::ascii_isdigit(static_cast<unsigned char>(id[0]))) out.push_back('_');
  for (char c : id) {
    out.push_back(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ? c
                                                                                              : '_');
  }
  if (out.size() > kMaxIdentifier) out.resize(kMaxIdentifier);
  return out;
}

namespace {

// True for text of blank lines, comments and document markers only: a file
// Harness's UI or a repository keeps empty.
bool HoldsNothing(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty() && line[0] != '#' && line != "---" && line != "...") return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<PipelineDocument> ReadHarnessPipeline(absl::string_view text,
                                                     absl::string_view file,
                                                     const InputLimits& limits) {
  PipelineDocument doc;
  if (HoldsNothing(text)) {
    doc.skipped = "empty document";
    return doc;
  }
  BG_ASSIGN_OR_RETURN(const YAML::Node root, LoadBoundedYaml(text, file, limits));
  internal::DocumentWalker walker(file, &doc);
  try {
    BG_RETURN_IF_ERROR(walker.Walk(root));
  } catch (const YAML::Exception& e) {
    // Node access on a malformed shape; never a partial document.
    return LocatedError(file, e.mark.line + 1, e.mark.column + 1, "", e.msg);
  }
  return doc;
}

}  // namespace buildgate::pipeline
