#include "pipeline/harness_pipeline.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

// True when `line` (without its newline) is a YAML marker `marker` ("---"
// or "..."): at column 0, then the end or a space, tab or carriage return.
// YAML forbids such a line inside any scalar, so it always ends a document.
bool IsMarker(absl::string_view line, absl::string_view marker) {
  if (!absl::StartsWith(line, marker)) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

// True for text of blank lines, comments and document markers (with a
// comment or nothing after them) only: a file Harness's UI or a repository
// keeps empty.
bool HoldsNothing(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (IsMarker(line, "---") || IsMarker(line, "...")) line.remove_prefix(3);
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty() && line[0] != '#') return false;
  }
  return true;
}

// One YAML document of a file: its bytes [begin, end) and first line.
struct DocumentSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  int line = 1;  // 1-based.
  // Begun without `---` (the file's start, or after a `...` line): a
  // document only when it holds more than comments.
  bool bare = false;
};

// The documents of `text`, as YAML divides them: a `---` line starts one
// (with the `%` directive lines right before it), a `...` line ends one,
// and text before the first `---` or after a `...` is one when it holds
// more than comments. Error past kMaxDocumentsPerFile.
absl::StatusOr<std::vector<DocumentSpan>> SplitDocuments(absl::string_view text,
                                                         absl::string_view file) {
  std::vector<DocumentSpan> spans = {DocumentSpan{0, text.size(), 1, /*bare=*/true}};
  // A bare span is dropped when it holds nothing by the time it ends.
  auto end_span = [&](std::size_t at) {
    DocumentSpan& last = spans.back();
    last.end = at;
    if (last.bare && HoldsNothing(text.substr(last.begin, at - last.begin))) spans.pop_back();
  };
  std::size_t directives = std::string::npos;  // Offset of `%` lines before a `---`.
  int directives_line = 0;
  int line_number = 1;
  for (std::size_t at = 0; at < text.size(); ++line_number) {
    std::size_t end = text.find('\n', at);
    if (end == absl::string_view::npos) end = text.size();
    const absl::string_view line = text.substr(at, end - at);
    const std::size_t next = std::min(end + 1, text.size());
    if (IsMarker(line, "---")) {
      const bool directed = directives != std::string::npos;
      const std::size_t begin = directed ? directives : at;
      end_span(begin);
      spans.push_back(DocumentSpan{begin, text.size(), directed ? directives_line : line_number});
      directives = std::string::npos;
    } else if (IsMarker(line, "...")) {
      end_span(next);
      spans.push_back(DocumentSpan{next, text.size(), line_number + 1, /*bare=*/true});
      directives = std::string::npos;
    } else if (absl::StartsWith(line, "%")) {
      if (directives == std::string::npos) {
        directives = at;
        directives_line = line_number;
      }
    } else if (!HoldsNothing(line)) {
      directives = std::string::npos;
    }
    at = end + 1;
  }
  end_span(text.size());
  if (spans.size() > static_cast<std::size_t>(kMaxDocumentsPerFile)) {
    return LocatedError(
        file, spans[kMaxDocumentsPerFile].line, 1, "",
        absl::StrCat("more than ", kMaxDocumentsPerFile, " YAML documents in one file"));
  }
  return spans;
}

// `text` up to the document's end, every byte before the document but
// newlines made a space: the document alone, at its place in the file, so
// that every line, column and offset read from it (locations, edit points,
// errors) is the file's.
std::string DocumentAlone(absl::string_view text, const DocumentSpan& span) {
  std::string out(text.substr(0, span.end));
  for (std::size_t i = 0; i < span.begin; ++i) {
    if (out[i] != '\n') out[i] = ' ';
  }
  return out;
}

// The YAML nodes under `node`, itself included (aliases counted again
// where used, as the limit counts them).
std::size_t CountNodes(const YAML::Node& node) {
  std::size_t n = 1;
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) n += CountNodes(item);
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      n += CountNodes(it->first) + CountNodes(it->second);
    }
  }
  return n;
}

// `status` with `suffix` appended to its message; its payload (where the
// error is, as data) kept.
absl::Status WithSuffix(const absl::Status& status, absl::string_view suffix) {
  absl::Status out(status.code(), absl::StrCat(status.message(), suffix));
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

// Reads one document (`text` is DocumentAlone's) into `*out`; `*nodes` is
// the node budget left for the file, reduced by what this one holds.
absl::Status ReadDocument(absl::string_view text, absl::string_view file, const InputLimits& limits,
                          std::size_t* nodes, PipelineDocument* out, DocumentSummary* summary) {
  InputLimits left = limits;
  left.max_yaml_nodes = *nodes;
  BG_ASSIGN_OR_RETURN(const YAML::Node root, LoadBoundedYaml(text, file, left));
  *nodes -= std::min(*nodes, CountNodes(root));
  internal::DocumentWalker walker(file, out);
  try {
    BG_RETURN_IF_ERROR(walker.Walk(root));
  } catch (const YAML::Exception& e) {
    // Node access on a malformed shape; never a partial document.
    return LocatedError(file, e.mark.line + 1, e.mark.column + 1, "", e.msg);
  }
  summary->linted = out->skipped.empty();
  summary->what = summary->linted ? walker.what() : out->skipped;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PipelineDocument> ReadHarnessPipeline(absl::string_view text, absl::string_view file,
                                                     const InputLimits& limits) {
  PipelineDocument doc;
  if (text.size() > limits.max_document_bytes) {
    // One message for the size of a file, whatever it holds.
    return LoadBoundedYaml(text, file, limits).status();
  }
  BG_ASSIGN_OR_RETURN(const std::vector<DocumentSpan> spans, SplitDocuments(text, file));
  std::size_t nodes = limits.max_yaml_nodes;
  std::vector<std::string> skipped;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const DocumentSpan& span = spans[i];
    DocumentSummary summary;
    summary.line = span.line;
    const absl::string_view body = text.substr(span.begin, span.end - span.begin);
    if (HoldsNothing(body)) {
      summary.what = "empty document";
    } else {
      PipelineDocument one;
      const absl::Status read =
          spans.size() == 1
              ? ReadDocument(text, file, limits, &nodes, &one, &summary)
              : ReadDocument(DocumentAlone(text, span), file, limits, &nodes, &one, &summary);
      if (!read.ok()) {
        if (spans.size() == 1) return read;
        // The node limit is the file's: say so when this one crossed what
        // the documents before it left.
        const bool nodes_shared =
            nodes < limits.max_yaml_nodes && absl::StrContains(read.message(), kMaxYamlNodesFlag);
        return WithSuffix(
            read,
            absl::StrCat(" (document ", i + 1, " of ", spans.size(), ", from line ", span.line,
                         nodes_shared ? absl::StrCat("; the documents of a file hold at most ",
                                                     limits.max_yaml_nodes, " YAML nodes together")
                                      : "",
                         ")"));
      }
      for (FoundBuild& b : one.builds) doc.builds.push_back(std::move(b));
      for (TemplateReference& t : one.templates) doc.templates.push_back(std::move(t));
      doc.steps_seen += one.steps_seen;
    }
    if (!summary.linted) skipped.push_back(summary.what);
    doc.documents.push_back(std::move(summary));
  }
  if (doc.documents.empty()) {  // No text, or comments only.
    doc.documents.push_back(DocumentSummary{1, "empty document", false});
    skipped.push_back("empty document");
  }
  if (skipped.size() == doc.documents.size()) {
    // Nothing to lint: every document is another entity or empty.
    doc.skipped = absl::StrJoin(skipped, "; ");
  }
  return doc;
}

}  // namespace buildgate::pipeline
