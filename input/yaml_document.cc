#include "input/yaml_document.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/input_error.h"
#include "common/status.h"
#include "input/limits.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/parser.h"

namespace buildgate {
namespace {

// A first pass over the parser's events that builds nothing: counts the
// nodes a document expands to (an alias counts as the whole subtree it
// names), its nesting depth and its documents, refuses a mapping that holds
// one key twice, and stops at the first limit it crosses. Only text that
// passes is handed to YAML::Load.
//
// Duplicate keys: YAML says a mapping's keys are unique, but parsers differ
// on what they do when they are not (yaml-cpp keeps the first, PyYAML and
// SnakeYAML the last). A gate that read the other one than Harness would
// decide a step nobody runs, so a repeated key is an error naming both
// places and the key's path ("pipeline.stages[0].stage.spec").
class ShapeCheck : public YAML::EventHandler {
 public:
  struct Refused {
    YAML::Mark mark;
    std::string what;
  };

  ShapeCheck(absl::string_view text, const InputLimits& limits) : text_(text), limits_(limits) {}

  int documents() const { return documents_; }
  const YAML::Mark& second_document() const { return second_document_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_document_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Leaf(mark, anchor);
    Item(mark, nullptr);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const Subtree& t = anchor < anchors_.size() ? anchors_[anchor] : Subtree{1, 0};
    Add(mark, t.nodes, static_cast<int>(open_.size()) + t.depth);
    Item(mark, nullptr);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    CheckQuoteClosed(mark);
    Leaf(mark, anchor);
    Item(mark, &value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor, /*is_map=*/false);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor, /*is_map=*/true);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Subtree {
    uint64_t nodes = 1;
    int depth = 0;  // Levels of nesting below the node.
  };
  struct Frame {
    YAML::anchor_t anchor;
    uint64_t nodes_before;
    int deepest;  // Deepest level reached inside, absolute.
    bool is_map = false;
    // Items seen directly inside: a mapping's keys and values alternate.
    std::size_t items = 0;
    // A mapping's scalar keys so far, with where each stands; the key
    // being read (the path's last segment while its value is open).
    absl::flat_hash_map<std::string, YAML::Mark> keys;
    std::string key;
  };

  void Add(const YAML::Mark& mark, uint64_t nodes, int depth) {
    nodes_ += nodes;
    if (nodes_ > limits_.max_yaml_nodes) {
      throw Refused{mark, absl::StrCat("the document has more than ", limits_.max_yaml_nodes,
                                       " YAML nodes after alias expansion (limit ",
                                       kMaxYamlNodesFlag, " = ", limits_.max_yaml_nodes, ")")};
    }
    if (depth > limits_.max_depth) {
      throw Refused{mark,
                    absl::StrCat("nested more than ", limits_.max_depth, " levels deep (limit ",
                                 kMaxDepthFlag, " = ", limits_.max_depth, ")")};
    }
    for (Frame& f : open_) f.deepest = std::max(f.deepest, depth);
  }
  void Remember(YAML::anchor_t anchor, Subtree t) {
    if (anchor == YAML::NullAnchor) return;
    if (anchors_.size() <= anchor) anchors_.resize(anchor + 1);
    anchors_[anchor] = t;
  }
  void Leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    Add(mark, 1, static_cast<int>(open_.size()));
    Remember(anchor, Subtree{1, 0});
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
    const int depth = static_cast<int>(open_.size()) + 1;
    Add(mark, 1, depth);
    Frame frame{anchor, nodes_ - 1, depth};
    frame.is_map = is_map;
    open_.push_back(std::move(frame));
  }
  void Close() {
    if (open_.empty()) return;
    const Frame& f = open_.back();
    const Subtree done{nodes_ - f.nodes_before, f.deepest - static_cast<int>(open_.size())};
    const YAML::anchor_t anchor = f.anchor;
    open_.pop_back();
    Remember(anchor, done);
    Item(YAML::Mark(), nullptr);  // The closed node is an item of its parent.
  }

  // One node read directly inside the innermost open node: in a mapping,
  // every other one is a key. `scalar` is a scalar key's text (nullptr for
  // a null, an alias or a collection, which are never compared).
  void Item(const YAML::Mark& mark, const std::string* scalar) {
    if (open_.empty()) return;
    Frame& f = open_.back();
    const bool is_key = f.is_map && f.items % 2 == 0;
    ++f.items;
    if (!is_key) return;
    f.key = scalar != nullptr ? *scalar : std::string("?");
    if (scalar == nullptr) return;
    const auto [it, inserted] = f.keys.try_emplace(*scalar, mark);
    if (!inserted) {
      throw Refused{mark, absl::StrCat(Path(), ": field given twice (first at line ",
                                       it->second.line + 1, ", column ", it->second.column + 1,
                                       "); YAML parsers differ on which one they read")};
    }
  }

  // Where the innermost open node stands: "pipeline.stages[0].stage".
  std::string Path() const {
    std::string path;
    for (const Frame& f : open_) {
      if (f.is_map) {
        if (!path.empty()) path.push_back('.');
        path += f.key;
      } else {
        absl::StrAppend(&path, "[", f.items, "]");  // The item being read.
      }
    }
    return path;
  }

  // yaml-cpp ends a quoted scalar that is never closed at the end of the
  // text; a file cut inside a quoted string must not load.
  void CheckQuoteClosed(const YAML::Mark& mark) const {
    if (mark.pos < 0 || static_cast<std::size_t>(mark.pos) >= text_.size()) return;
    const char quote = text_[mark.pos];
    if (quote != '"' && quote != '\'') return;
    for (std::size_t i = mark.pos + 1; i < text_.size(); ++i) {
      if (quote == '"' && text_[i] == '\\') {
        ++i;  // An escaped character.
      } else if (text_[i] == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;  // '' is a quote inside a single-quoted string.
        } else {
          return;
        }
      }
    }
    throw Refused{mark, "a quoted string is not closed before the end of the text"};
  }

  const absl::string_view text_;
  const InputLimits& limits_;
  uint64_t nodes_ = 0;
  int documents_ = 0;
  YAML::Mark second_document_;
  std::vector<Frame> open_;
  std::vector<Subtree> anchors_;  // By anchor id (yaml-cpp numbers them from 1).
};

// The position (1-based line and column) of byte `offset` in `text`.
std::pair<int, int> Position(absl::string_view text, std::size_t offset) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return {line, column};
}

// Bytes, encoding and document count, before yaml-cpp builds anything.
absl::Status CheckText(absl::string_view text, absl::string_view source,
                       const InputLimits& limits) {
  if (text.size() > limits.max_document_bytes) {
    return LocatedError(source, kNoPosition, 0, "",
                        absl::StrCat(text.size(), " bytes is too large (limit ",
                                     kMaxDocumentBytesFlag, " = ", limits.max_document_bytes, ")"));
  }
  if (std::size_t bad = FindInvalidUtf8(text); bad != absl::string_view::npos) {
    const auto [line, column] = Position(text, bad);
    return LocatedError(source, line, column, "", "invalid UTF-8");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7F) {
      const auto [line, column] = Position(text, i);
      return LocatedError(source, line, column, "",
                          absl::StrCat("control character ", absl::Hex(c, absl::kZeroPad2),
                                       " is not allowed"));
    }
  }
  std::istringstream in{std::string(text)};
  ShapeCheck check(text, limits);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(check)) {
    }
  } catch (const ShapeCheck::Refused& e) {
    return LocatedError(source, e.mark.line + 1, e.mark.column + 1, "", e.what);
  } catch (const YAML::Exception& e) {
    return LocatedError(source, e.mark.line + 1, e.mark.column + 1, "", e.msg);
  }
  if (check.documents() > 1) {
    const YAML::Mark& m = check.second_document();
    return LocatedError(source, m.line + 1, m.column + 1, "",
                        "a second document (or text after the first); one document per file");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<YAML::Node> LoadBoundedYaml(absl::string_view text, absl::string_view source,
                                           const InputLimits& limits) {
  BG_RETURN_IF_ERROR(CheckText(text, source, limits));
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return LocatedError(source, e.mark.line + 1, e.mark.column + 1, "", e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) {
    return LocatedError(source, kNoPosition, 0, "", "empty document");
  }
  return root;
}

}  // namespace buildgate
