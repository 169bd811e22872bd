#include "lint/fix.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/render.h"

namespace buildgate::lint {
namespace {

// Line starts of a text, to turn offsets into 1-based lines and columns.
class Lines {
 public:
  explicit Lines(absl::string_view text) : text_(text) {
    starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
  }
  // 0-based line of `offset`.
  int LineOf(std::size_t offset) const {
    return static_cast<int>(std::upper_bound(starts_.begin(), starts_.end(), offset) -
                            starts_.begin()) -
           1;
  }
  std::size_t Start(int line) const {
    return line < static_cast<int>(starts_.size()) ? starts_[line] : text_.size();
  }
  int count() const { return static_cast<int>(starts_.size()); }
  absl::string_view Line(int line) const {
    const std::size_t begin = Start(line);
    std::size_t end = Start(line + 1);
    if (end > begin && end <= text_.size() && text_[end - 1] == '\n') --end;
    return text_.substr(begin, end - begin);
  }

 private:
  absl::string_view text_;
  std::vector<std::size_t> starts_;
};

// Indentation of a line, or -1 for a blank or comment-only line.
int Indent(absl::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i == line.size() || line[i] == '#' || line[i] == '\r') return -1;
  return static_cast<int>(i);
}

// ---------------------------------------------------------------------------
// Carrying a step's settings across a change of step type.
//
// A Build and Push step and a builder Plugin step say the same things under
// different keys. kCarryTable is the one place that says which key of one is
// which key of the other, and what cannot be said in the other at all.
// Sources: Build and Push keys, harness/harness-schema
// v0/pipeline/steps/ci/*stepinfo.yaml; Plugin keys,
// v0/pipeline/steps/common/plugin-step-info.yaml (envVariables: harness-core
// PluginStepInfo.java); plugin settings, drone-plugins/drone-buildah
// cmd/drone-docker/main.go @576fa63 and drone-plugins/drone-docker
// cmd/drone-docker/main.go (drone-buildah keeps drone-docker's command and
// setting names); logins, drone-buildah's ECR (`access_key`, `secret_key`)
// and GCR (`json_key`) commands (the domain notes' builders.md, section 2).
// ACR: drone-docker cmd/drone-acr/main.go logs in with a service principal
// (`client_id`, `client_secret`, `tenant_id`; `username`/`password` still
// win) and reads `subscription_id` only for the image's portal link;
// drone-buildah's image runs its own drone-acr (docker/acr/Dockerfile), whose
// source was not found: taken to read the same settings.

enum class Carry {
  kDecided,      // Read by the decision and written by the engine (engine/render.cc).
  kSame,         // The same key and value in both types: copied as written, comments too.
  kScalar,       // A scalar under another name.
  kMapToPairs,   // Build and Push `{K: V}` <-> a plugin setting list `[K=V]`.
  kCredentials,  // A plugin's registry login; a Build and Push step logs in through a connector.
  kNone,         // No counterpart.
};

struct CarryRow {
  absl::string_view build_and_push;  // A Build and Push spec key; "" when it has none.
  absl::string_view plugin;          // A Plugin spec key, `settings.X` for a setting; "" none.
  Carry carry;
  // kNone: why it is not carried and what to do; kCredentials: the same
  // when it is not the push login (which goes to the step's connectorRef).
  absl::string_view why;
};

constexpr absl::string_view kBaseImageLogin =
    "a Build and Push step logs in to a base image's registry through baseImageConnectorRefs; "
    "put this login in a connector and list it there";

constexpr CarryRow kCarryTable[] = {
    // The build itself: read into the BuildStep, decided, rendered.
    {"connectorRef", "connectorRef", Carry::kDecided, ""},
    {"repo", "settings.repo", Carry::kDecided, ""},
    {"imageName", "", Carry::kDecided, ""},
    {"account", "", Carry::kDecided, ""},
    {"region", "settings.region", Carry::kDecided, ""},
    {"host", "", Carry::kDecided, ""},
    {"projectID", "", Carry::kDecided, ""},
    {"repository", "", Carry::kDecided, ""},
    {"", "settings.registry", Carry::kDecided, ""},
    {"tags", "settings.tags", Carry::kDecided, ""},
    {"", "settings.tag", Carry::kDecided, ""},
    {"dockerfile", "settings.dockerfile", Carry::kDecided, ""},
    {"context", "settings.context", Carry::kDecided, ""},
    {"caching", "", Carry::kDecided, ""},  // A builder that has no cache says so in the finding.
    {"", "settings.dry_run", Carry::kDecided, ""},
    // Dry run: the decision puts it where the new builder reads it (a stage
    // variable for Buildah, PLUGIN_NO_PUSH for Kaniko: catalog/builders.yaml).
    {"envVariables.PLUGIN_DRY_RUN", "envVariables.PLUGIN_DRY_RUN", Carry::kDecided, ""},
    {"", "image", Carry::kDecided, ""},
    {"", "privileged", Carry::kDecided, ""},
    // Carried.
    {"runAsUser", "runAsUser", Carry::kSame, ""},  // The decision's, when it sets one.
    {"resources", "resources", Carry::kSame, ""},
    {"envVariables", "envVariables", Carry::kSame, ""},
    {"buildArgs", "settings.build_args", Carry::kMapToPairs, ""},
    {"labels", "settings.custom_labels", Carry::kMapToPairs, ""},
    {"target", "settings.target", Carry::kScalar, ""},
    // Registry logins.
    {"", "settings.username", Carry::kCredentials, ""},
    {"", "settings.password", Carry::kCredentials, ""},
    {"", "settings.access_key", Carry::kCredentials, ""},
    {"", "settings.secret_key", Carry::kCredentials, ""},
    {"", "settings.json_key", Carry::kCredentials, ""},
    {"", "settings.client_id", Carry::kCredentials, ""},
    {"", "settings.client_secret", Carry::kCredentials, ""},
    {"", "settings.client_certificate", Carry::kCredentials, ""},
    {"", "settings.tenant_id", Carry::kCredentials, ""},
    // drone-docker's base-image login (used with plugins/docker in
    // drone-plugins' own .harness pipelines, tests/pipelines/real).
    {"", "settings.base_image_registry", Carry::kCredentials, kBaseImageLogin},
    {"", "settings.base_image_username", Carry::kCredentials, kBaseImageLogin},
    {"", "settings.base_image_password", Carry::kCredentials, kBaseImageLogin},
    // No counterpart.
    {"", "settings.auto_tag", Carry::kNone,
     "Build and Push has no auto-tagging (tags from the git ref); list the tags"},
    {"", "settings.auto_tag_suffix", Carry::kNone, "goes with auto_tag; list the tags"},
    {"", "settings.daemon_off", Carry::kNone, "Build and Push runs its own builder"},
    {"", "settings.purge", Carry::kNone, "Build and Push has no purge setting"},
    {"", "settings.build_args_from_env", Carry::kNone,
     "Build and Push takes build args as values (buildArgs)"},
    {"", "settings.cache_from", Carry::kNone,
     "set Build and Push cacheFrom by hand (its values depend on the builder)"},
    {"", "settings.cache_to", Carry::kNone,
     "set Build and Push cacheTo by hand (its values depend on the builder)"},
    {"cacheFrom", "", Carry::kNone, "the Buildah plugin has no remote cache setting"},
    {"cacheTo", "", Carry::kNone, "the Buildah plugin has no remote cache setting"},
    {"remoteCacheRepo", "", Carry::kNone, "the Buildah plugin has no remote cache setting"},
    {"remoteCacheImage", "", Carry::kNone, "the Buildah plugin has no remote cache setting"},
    {"optimize", "", Carry::kNone, "a Kaniko snapshot option; the Buildah plugin has none"},
    {"baseImageConnectorRefs", "", Carry::kNone,
     "a Plugin step cannot log in to base-image registries through connectors"},
    {"envDockerSecrets", "", Carry::kNone, "the Buildah plugin takes no build secrets"},
    {"fileDockerSecrets", "", Carry::kNone, "the Buildah plugin takes no build secrets"},
    {"subscriptionId", "", Carry::kNone,
     "only for the image's portal link; set settings.subscription_id by hand if the ACR "
     "plugin reads it"},
    // Carried one way only: the row above names it the other way (RowOf
    // takes a side's first row).
    {"subscriptionId", "settings.subscription_id", Carry::kScalar, ""},
    {"registryRef", "", Carry::kNone,
     "a Harness artifact registry; a Plugin step pushes to settings.registry"},
};

// The row of `key` (a Build and Push key, or a Plugin key / `settings.X`):
// the first one naming it on that side.
const CarryRow* RowOf(absl::string_view key, bool plugin) {
  for (const CarryRow& row : kCarryTable) {
    if ((plugin ? row.plugin : row.build_and_push) == key) return &row;
  }
  return nullptr;
}

// The settings a builder plugin image needs to log in, by the image's
// destination (the ECR, GCR and ACR commands; sources above).
absl::string_view LoginSettingsOf(absl::string_view image) {
  if (absl::StrContains(image, "-ecr")) return "access_key and secret_key";
  if (absl::StrContains(image, "-gcr") || absl::StrContains(image, "-gar")) return "json_key";
  if (absl::StrContains(image, "-acr")) return "client_id, client_secret and tenant_id";
  return "username and password";
}

// One line of a spec body: its indentation relative to the spec's keys.
struct BodyLine {
  int indent = 0;
  std::string text;                // Without indentation; with its comment when `verbatim`.
  bool verbatim = false;           // Copied from the user's text as written.
  std::vector<std::string> above;  // Comment lines kept above it.
  std::string trailing;            // A comment kept after it (with its spacing).
};

BodyLine NewLine(int indent, std::string text) {
  BodyLine line;
  line.indent = indent;
  line.text = std::move(text);
  return line;
}

// A key of a spec body and its lines (the key's line first).
struct BodyEntry {
  std::string key;
  std::vector<BodyLine> lines;
};

// The decided step's spec body (engine/render.cc writes its keys at column
// 6), as entries with indentation relative to column 6.
std::vector<BodyEntry> RenderedBody(absl::string_view step_yaml) {
  std::vector<BodyEntry> body;
  const std::size_t at = step_yaml.find("\n    spec:\n");
  if (at == absl::string_view::npos) return body;
  for (absl::string_view line : absl::StrSplit(step_yaml.substr(at + 11), '\n')) {
    if (line.empty()) continue;
    int indent = 0;
    while (indent < static_cast<int>(line.size()) && line[indent] == ' ') ++indent;
    if (indent < 6) break;  // Past the spec.
    BodyLine out;
    out.indent = indent - 6;
    out.text = std::string(line.substr(indent));
    if (out.indent == 0) {
      body.push_back({std::string(out.text.substr(0, out.text.find(':'))), {}});
    }
    if (!body.empty()) body.back().lines.push_back(std::move(out));
  }
  return body;
}

BodyEntry* FindEntry(std::vector<BodyEntry>& body, absl::string_view key) {
  for (BodyEntry& e : body) {
    if (e.key == key) return &e;
  }
  return nullptr;
}
const BodyEntry* FindEntry(const std::vector<BodyEntry>& body, absl::string_view key) {
  return FindEntry(const_cast<std::vector<BodyEntry>&>(body), key);
}

// A line split into its content and its comment (" # ..." with the spaces
// before it), outside quoted scalars.
struct SplitLine {
  int indent = -1;  // -1: blank.
  std::string content;
  std::string comment;  // For a comment-only line, the whole comment.
};

SplitLine SplitComment(absl::string_view line) {
  SplitLine out;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i == line.size()) return out;
  out.indent = static_cast<int>(i);
  if (line[i] == '#') {
    out.comment = std::string(line.substr(i));
    return out;
  }
  std::size_t hash = absl::string_view::npos;
  for (std::size_t j = i; j < line.size(); ++j) {
    const char c = line[j];
    const bool scalar_start = j == i || line[j - 1] == ' ' || line[j - 1] == '[' ||
                              line[j - 1] == '{' || line[j - 1] == ',';
    if ((c == '"' || c == '\'') && scalar_start) {
      for (++j; j < line.size(); ++j) {
        if (c == '"' && line[j] == '\\') {
          ++j;
        } else if (line[j] == c) {
          break;
        }
      }
      continue;
    }
    if (c == '#' && line[j - 1] == ' ') {
      hash = j;
      break;
    }
  }
  std::size_t end = hash == absl::string_view::npos ? line.size() : hash;
  std::size_t content_end = end;
  while (content_end > i && line[content_end - 1] == ' ') --content_end;
  out.content = std::string(line.substr(i, content_end - i));
  if (hash != absl::string_view::npos) out.comment = std::string(line.substr(content_end));
  return out;
}

// "K=V" items of a Build and Push map, or the map of a plugin's K=V list (or
// comma list, as drone's list flags read one); false when a value is not
// plain text or an item has no '='.
bool PairsOf(const pipeline::PlainValue& value,
             std::vector<std::pair<std::string, std::string>>* out) {
  using Kind = pipeline::PlainValue::Kind;
  if (value.kind == Kind::kMapping) {
    for (const auto& [k, v] : value.entries) {
      if (v.kind != Kind::kScalar) return false;
      out->emplace_back(k, v.scalar);
    }
    return true;
  }
  std::vector<std::string> items;
  if (value.kind == Kind::kScalar) {
    for (absl::string_view item : absl::StrSplit(value.scalar, ',', absl::SkipWhitespace())) {
      items.emplace_back(absl::StripAsciiWhitespace(item));
    }
  } else if (value.kind == Kind::kList) {
    for (const pipeline::PlainValue& item : value.items) {
      if (item.kind != Kind::kScalar) return false;
      items.push_back(item.scalar);
    }
  } else {
    return false;
  }
  for (const std::string& item : items) {
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    out->emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return true;
}

// The last line of the block that starts on `line` with a key at `column`:
// every following line indented deeper (comment lines inside it included,
// trailing ones not).
int BlockEnd(const Lines& lines, int line, int column) {
  int last = line;
  for (int l = line + 1; l < lines.count(); ++l) {
    const int indent = Indent(lines.Line(l));
    if (indent < 0) continue;
    if (indent <= column) break;
    last = l;
  }
  return last;
}

// The new body of a step's block `spec:` when its type changes: the decided
// step's keys, what the user wrote carried over (kCarryTable), comments kept
// where their lines are written again; what cannot be carried is named.
class SpecCarrier {
 public:
  // `spec`: the user's spec (a block mapping) in `lines`; `d`: the decision;
  // losses go to `not_carried`.
  SpecCarrier(const Lines& lines, const pipeline::MappingPoints& spec, const v1::Decision& d,
              std::vector<std::string>* not_carried)
      : lines_(lines),
        spec_(spec),
        d_(d),
        not_carried_(not_carried),
        body_(RenderedBody(d.step_yaml())),
        copied_(lines.count(), false),
        col_(spec.start.column),
        to_plugin_(d.step_type() == v1::STEP_TYPE_PLUGIN),
        new_type_(d.harness_step_type()) {
    const auto connector = spec.values.find("connectorRef");
    if (connector != spec.values.end()) connector_ = connector->second.content.scalar;
  }

  // False when the decision has no spec to write.
  bool ok() const { return !body_.empty(); }

  // Carries every key of the user's spec, in the order written; names the
  // registry login a Plugin step will lack unless the build does not push
  // (`dry_run`).
  void CarryAll(bool dry_run) {
    std::vector<std::pair<std::size_t, std::string>> keys;
    for (const auto& [key, at] : spec_.keys) keys.emplace_back(at.offset, key);
    std::sort(keys.begin(), keys.end());
    for (const auto& [offset, key] : keys) {
      const pipeline::PlainValue& value = spec_.values.at(key).content;
      if (!to_plugin_ && key == "settings") {
        if (value.kind == Kind::kMapping) {
          for (const auto& [name, v] : value.entries) Carry(absl::StrCat("settings.", name), v);
        } else if (value.kind != Kind::kNull) {
          Lose("spec.settings", "not a mapping");
        }
        continue;
      }
      Carry(key, value);
    }
    // A Build and Push step's registry login is in its connector, which a
    // Plugin step's settings cannot use; a build that does not push needs none.
    if (to_plugin_ && !dry_run) {
      Lose(absl::StrCat("spec.connectorRef", Parenthesized(connector_)),
           absl::StrCat("holds the registry login, which a Plugin step's settings cannot use; "
                        "add settings ",
                        LoginSettingsOf(d_.image()), " from secrets (<+secrets.getValue(...)>)"));
    }
  }

  // What Harness would reject in the new step, or "".
  std::string Rejected() const {
    if (!to_plugin_ && FindEntry(body_, "tags") == nullptr) {
      return absl::StrCat(new_type_, " without tags (Harness requires them)");
    }
    return "";
  }

  // The text of lines [first, last] (the old body) written again: keeps each
  // comment on (or above) a line written again unchanged, names the others.
  std::string Body(int first, int last) {
    std::vector<BodyLine*> written;
    for (BodyEntry& e : body_) {
      for (BodyLine& l : e.lines) written.push_back(&l);
    }
    std::vector<bool> taken(written.size(), false);
    std::vector<std::pair<int, std::string>> above;  // Comment lines waiting for their line.
    for (int l = first; l <= last; ++l) {
      if (copied_[l]) continue;
      const SplitLine s = SplitComment(lines_.Line(l));
      if (s.indent < 0) continue;
      if (s.content.empty()) {
        above.emplace_back(l, s.comment);
        continue;
      }
      std::size_t match = 0;
      while (match < written.size() &&
             (taken[match] || written[match]->verbatim || written[match]->text != s.content)) {
        ++match;
      }
      if (match < written.size()) {
        taken[match] = true;
        for (auto& [line, comment] : above) written[match]->above.push_back(comment);
        written[match]->trailing = s.comment;
      } else {
        for (const auto& [line, comment] : above) LoseComment(line, comment);
        if (!s.comment.empty()) LoseComment(l, s.comment);
      }
      above.clear();
    }
    for (const auto& [line, comment] : above) LoseComment(line, comment);
    std::string out;
    for (const BodyLine* l : written) {
      const std::string pad(col_ + l->indent, ' ');
      for (const std::string& comment : l->above) absl::StrAppend(&out, pad, comment, "\n");
      absl::StrAppend(&out, pad, l->text, l->trailing, "\n");
    }
    return out;
  }

 private:
  using Kind = pipeline::PlainValue::Kind;

  static std::string Parenthesized(absl::string_view s) {
    return s.empty() ? "" : absl::StrCat(" (", s, ")");
  }

  void Lose(absl::string_view what, absl::string_view why) {
    not_carried_->push_back(absl::StrCat(what, ": ", why));
  }

  void LoseComment(int line, absl::string_view comment) {
    Lose(absl::StrCat("comment \"", absl::StripLeadingAsciiWhitespace(comment), "\" (line ",
                      line + 1, ")"),
         "its line is not written again");
  }

  // Whether `key.sub` is read by the decision (and so written by it).
  bool Decided(absl::string_view key, absl::string_view sub) const {
    const CarryRow* row = RowOf(absl::StrCat(key, ".", sub), /*plugin=*/!to_plugin_);
    return row != nullptr && row->carry == Carry::kDecided;
  }

  // Adds `lines` (relative to their key) under `target`: a spec key, or
  // `settings.X` under the plugin's settings.
  void Add(absl::string_view target, std::vector<BodyLine> lines) {
    if (absl::ConsumePrefix(&target, "settings.")) {
      BodyEntry* settings = FindEntry(body_, "settings");
      if (settings == nullptr) {
        body_.push_back({"settings", {NewLine(0, "settings:")}});
        settings = &body_.back();
      }
      for (BodyLine& l : lines) {
        l.indent += 2;
        settings->lines.push_back(std::move(l));
      }
      return;
    }
    body_.push_back({std::string(target), std::move(lines)});
  }

  // Copies the user's block of spec key `key` as written, but for the
  // entries the decision writes itself.
  void Copy(const std::string& key, const pipeline::PlainValue& value) {
    std::vector<BodyLine> lines;
    if (value.flow_style && value.kind == Kind::kMapping) {
      // `{K: V, ...}`: written again as a block without the decided entries.
      for (const auto& [k, v] : value.entries) {
        if (Decided(key, k)) continue;
        if (v.kind != Kind::kScalar) {
          Lose(absl::StrCat("spec.", key, ".", k), "not a plain value");
          continue;
        }
        lines.push_back(NewLine(2, absl::StrCat(YamlScalar(k), ": ", YamlScalar(v.scalar))));
      }
      if (lines.empty()) return;
      lines.insert(lines.begin(), NewLine(0, absl::StrCat(key, ":")));
      body_.push_back({key, std::move(lines)});
      return;
    }
    const pipeline::TextPoint& at = spec_.keys.at(key);
    int entry_indent = -1;  // The indentation of the value's own keys.
    bool skipping = false;  // In an entry the decision writes.
    int kept = 0;           // Entries kept.
    for (int l = at.line, end = BlockEnd(lines_, at.line, at.column); l <= end; ++l) {
      absl::string_view raw = lines_.Line(l);
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      std::size_t spaces = 0;
      while (spaces < raw.size() && raw[spaces] == ' ') ++spaces;
      if (spaces == raw.size()) {  // Blank.
        copied_[l] = true;
        continue;
      }
      if (l > at.line && raw[spaces] != '#') {
        if (entry_indent < 0) entry_indent = static_cast<int>(spaces);
        if (static_cast<int>(spaces) == entry_indent) {
          const SplitLine entry = SplitComment(raw);
          skipping = value.kind == Kind::kMapping &&
                     Decided(key, entry.content.substr(0, entry.content.find(':')));
          kept += skipping ? 0 : 1;
        }
      }
      if (skipping) continue;  // Its comments are matched (or named) by Body.
      copied_[l] = true;
      BodyLine line =
          NewLine(std::max(0, static_cast<int>(spaces) - col_), std::string(raw.substr(spaces)));
      line.verbatim = true;
      lines.push_back(std::move(line));
    }
    if (entry_indent >= 0 && kept == 0) {  // Only decided entries: no key left.
      copied_[at.line] = false;
      return;
    }
    body_.push_back({key, std::move(lines)});
  }

  // Carries one key the user wrote (`name`: a spec key, or `settings.X` of
  // a Plugin step).
  void Carry(const std::string& name, const pipeline::PlainValue& value) {
    const std::string where = absl::StrCat("spec.", name);
    const CarryRow* row = RowOf(name, /*plugin=*/!to_plugin_);
    if (row == nullptr) {
      Lose(where, absl::StrCat("no counterpart in a ", new_type_, " step"));
      return;
    }
    const absl::string_view target = to_plugin_ ? row->plugin : row->build_and_push;
    const absl::string_view target_key = target.substr(target.rfind('.') + 1);
    switch (row->carry) {
      case Carry::kDecided:
        return;
      case Carry::kCredentials:
        Lose(where,
             !row->why.empty()
                 ? std::string(row->why)
                 : absl::StrCat("a ", new_type_, " step logs in through its connectorRef",
                                Parenthesized(connector_), "; put this login in that connector"));
        return;
      case Carry::kNone:
        Lose(where, row->why);
        return;
      case Carry::kSame:
        if (BodyEntry* rendered = FindEntry(body_, target)) {
          if (value.kind == Kind::kMapping) Merge(name, value, rendered);
          return;  // Otherwise the decision's value.
        }
        Copy(name, value);
        return;
      case Carry::kScalar:
        if (value.kind != Kind::kScalar) {
          Lose(where, "not a plain value");
          return;
        }
        Add(target, {NewLine(0, absl::StrCat(target_key, ": ", YamlScalar(value.scalar)))});
        return;
      case Carry::kMapToPairs: {
        std::vector<std::pair<std::string, std::string>> pairs;
        if (!PairsOf(value, &pairs)) {
          Lose(where, "not a mapping of values nor a list of K=V");
          return;
        }
        std::vector<BodyLine> lines = {NewLine(0, absl::StrCat(target_key, ":"))};
        for (const auto& [k, v] : pairs) {
          lines.push_back(NewLine(2, to_plugin_
                                         ? absl::StrCat("- ", YamlScalar(absl::StrCat(k, "=", v)))
                                         : absl::StrCat(YamlScalar(k), ": ", YamlScalar(v))));
        }
        Add(target, std::move(lines));
        return;
      }
    }
  }

  // Adds the user's entries of mapping `name` that the decision's `rendered`
  // one lacks (the decision's win).
  void Merge(const std::string& name, const pipeline::PlainValue& value, BodyEntry* rendered) {
    for (const auto& [k, v] : value.entries) {
      if (Decided(name, k)) continue;
      bool present = false;
      for (const BodyLine& l : rendered->lines) {
        present |= l.indent == 2 && absl::StartsWith(l.text, absl::StrCat(k, ":"));
      }
      if (present) continue;
      if (v.kind != Kind::kScalar) {
        Lose(absl::StrCat("spec.", name, ".", k), "not a plain value");
        continue;
      }
      rendered->lines.push_back(
          NewLine(2, absl::StrCat(YamlScalar(k), ": ", YamlScalar(v.scalar))));
    }
  }

  const Lines& lines_;
  const pipeline::MappingPoints& spec_;
  const v1::Decision& d_;
  std::vector<std::string>* not_carried_;
  std::vector<BodyEntry> body_;
  std::vector<bool> copied_;  // Old lines copied as written (their comments with them).
  const int col_;             // The user's spec keys' indentation.
  const bool to_plugin_;
  const absl::string_view new_type_;
  std::string connector_;  // The user's connectorRef.
};

// Plans the edits of each finding from the edit points the pipeline reader
// recorded for its build (pipeline/edit_points.h).
class Planner {
 public:
  Planner(absl::string_view text) : text_(text), lines_(text) {}

  void Finding(int index, const v1::Finding& f, const pipeline::FoundBuild& b, FileFix* out) {
    const pipeline::StepEditPoints& points = b.edit_points;
    FindingFix fix;
    fix.finding = index;
    const v1::Decision& d = f.decision();
    if (absl::StrContains(d.step_yaml(), kRedacted)) {
      fix.skipped = "the step has plaintext credentials; fix them by hand";
    } else if (points.step.flow_style) {
      fix.skipped = "flow-style (JSON) documents are not edited in place";
    } else {
      bool spec_replaced = false;
      std::string rejected;  // What Harness would reject in the fixed step.
      std::string type_change;
      for (const v1::Change& c : f.changes()) {
        if (c.field() == "type") {
          spec_replaced = ChangeType(points, d, b.build_step.dry_run(), &rejected, &fix);
          if (!spec_replaced) break;
          SetScalar(points.step, "type", c.required(), &fix);
          type_change = absl::StrCat(c.proposed(), " -> ", c.required());
        }
      }
      for (const v1::Change& c : f.changes()) {
        if (!fix.skipped.empty()) break;
        FixChange(c, points, spec_replaced, &fix);
      }
      if (fix.skipped.empty() && fix.edits.empty()) fix.skipped = "nothing buildgate can edit";
      if (fix.skipped.empty() && (!rejected.empty() || !fix.not_carried.empty())) {
        // Incomplete: shown, never applied.
        std::vector<std::string> problems;
        if (!rejected.empty()) problems.push_back(absl::StrCat("give ", rejected));
        if (!fix.not_carried.empty()) {
          problems.push_back(absl::StrCat("lose ", absl::StrJoin(fix.not_carried, "; ")));
        }
        fix.skipped = absl::StrCat("the step type change (", type_change, ") would ",
                                   absl::StrJoin(problems, ", and "), "; change it by hand");
        fix.incomplete_edits = std::move(fix.edits);
      }
    }
    if (!fix.skipped.empty()) fix.edits.clear();
    out->findings.push_back(std::move(fix));
  }

 private:
  void FixChange(const v1::Change& c, const pipeline::StepEditPoints& points, bool spec_replaced,
                 FindingFix* fix) {
    const std::string& field = c.field();
    if (field == "builder" || field == "type") return;  // Follows from type and image.
    if (absl::StartsWith(field, "spec.")) {
      if (spec_replaced) return;
      const std::string key = field.substr(5);
      if (key.find('.') != std::string::npos) {
        fix->skipped = absl::StrCat(field, " cannot be edited in place");
        return;
      }
      SetKey(points.spec, key, c.required(), fix);
      return;
    }
    if (field == "identifier") {
      SetScalar(points.step, "identifier", c.required(), fix);
      return;
    }
    constexpr absl::string_view kStageVariable = "stage.variables.";
    if (absl::StartsWith(field, kStageVariable)) {
      StageVariable(points, field.substr(kStageVariable.size()), c.required(), fix);
      return;
    }
    constexpr absl::string_view kContext = "infrastructure.containerSecurityContext.";
    if (absl::StartsWith(field, kContext)) {
      const std::string key = field.substr(kContext.size());
      if (!points.security_context.is_mapping || key.find('.') != std::string::npos) {
        fix->skipped = absl::StrCat(field, " must be changed by hand (", c.proposed(), " -> ",
                                    c.required(), ")");
        return;
      }
      SetKey(points.security_context, key, c.required(), fix);
      return;
    }
    fix->skipped = absl::StrCat(field, " must be changed by hand");
  }

  // The span of a scalar's text starting at `begin`: quoted as written, or
  // plain up to a comment or the end of its line.
  std::pair<std::size_t, std::size_t> ScalarSpan(std::size_t begin) const {
    std::size_t end = begin;
    if (begin < text_.size() && (text_[begin] == '"' || text_[begin] == '\'')) {
      const char quote = text_[begin];
      end = begin + 1;
      while (end < text_.size()) {
        if (quote == '"' && text_[end] == '\\') {
          end += 2;
          continue;
        }
        if (text_[end] == quote) {
          if (quote == '\'' && end + 1 < text_.size() && text_[end + 1] == '\'') {
            end += 2;
            continue;
          }
          ++end;
          break;
        }
        ++end;
      }
      return {begin, std::min(end, text_.size())};
    }
    while (end < text_.size() && text_[end] != '\n' &&
           !(text_[end] == '#' && end > begin && text_[end - 1] == ' ')) {
      ++end;
    }
    while (end > begin && (text_[end - 1] == ' ' || text_[end - 1] == '\r')) --end;
    return {begin, end};
  }

  // `value` written as the scalar starting at `pos` was (quoted stays quoted).
  std::string Written(std::size_t pos, absl::string_view value) const {
    if (pos < text_.size() && text_[pos] == '"') return absl::StrCat("\"", value, "\"");
    if (pos < text_.size() && text_[pos] == '\'') return absl::StrCat("'", value, "'");
    // A plain boolean or number stays plain.
    if (value == "true" || value == "false" ||
        (!value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
          return c >= '0' && c <= '9';
        }))) {
      return std::string(value);
    }
    return YamlScalar(value);
  }

  // Replaces the scalar `key` holds (`current`) by `value`.
  void ReplaceScalar(const pipeline::ValuePoint& current, absl::string_view key,
                     absl::string_view value, FindingFix* fix) {
    if (!current.is_scalar) {
      fix->skipped = absl::StrCat(key, " is not a plain value");
      return;
    }
    const auto [begin, end] = ScalarSpan(current.start.offset);
    Edit(begin, end, Written(current.start.offset, value), fix);
  }

  // Replaces the scalar value of `map[key]`.
  void SetScalar(const pipeline::MappingPoints& map, const std::string& key,
                 absl::string_view value, FindingFix* fix) {
    const auto it = map.values.find(key);
    if (it == map.values.end()) {
      fix->skipped = absl::StrCat(key, " is not a plain value");
      return;
    }
    ReplaceScalar(it->second, key, value, fix);
  }

  // Sets `map[key]` to `value`: in place, or as a new first key.
  void SetKey(const pipeline::MappingPoints& map, const std::string& key, absl::string_view value,
              FindingFix* fix) {
    if (!map.is_mapping || map.flow_style) {
      fix->skipped = absl::StrCat(key, ": its mapping cannot be edited in place");
      return;
    }
    if (const auto it = map.values.find(key); it != map.values.end()) {
      ReplaceScalar(it->second, key, value, fix);
      return;
    }
    // A new key before the first one, at the same indentation. UIDs are
    // quoted, as Harness writes them.
    const std::string written = key == "runAsUser"                       ? absl::StrCat("\"", value, "\"")
                                : value == "true" || value == "false" ? std::string(value)
                                                                      : YamlScalar(value);
    Edit(map.start.offset, map.start.offset,
         absl::StrCat(key, ": ", written, "\n", std::string(map.start.column, ' ')), fix);
  }

  // Sets a String variable of the step's stage: its value replaced, or a new
  // first item of `variables`, or a new `variables:` before the stage's `spec:`.
  void StageVariable(const pipeline::StepEditPoints& points, const std::string& name,
                     absl::string_view value, FindingFix* fix) {
    const pipeline::VariableListPoints& vars = points.stage_variables;
    if (vars.block_list) {
      for (const pipeline::VariablePoints& var : vars.items) {
        if (var.name != name) continue;
        if (var.has_value) {
          ReplaceScalar(var.value, "value", value, fix);
        } else {
          fix->skipped = absl::StrCat("stage variable ", name, " has no value to edit");
        }
        return;
      }
      const pipeline::TextPoint& dash = vars.first_item;  // The first item's '-'.
      const std::string pad(dash.column, ' ');
      Edit(dash.offset, dash.offset,
           absl::StrCat("- name: ", name, "\n", pad, "  type: String\n", pad, "  value: \"", value,
                        "\"\n", pad),
           fix);
      return;
    }
    const pipeline::MappingPoints& stage = points.stage;
    const auto spec_key = stage.keys.find("spec");
    if (!stage.is_mapping || stage.flow_style || vars.present || spec_key == stage.keys.end()) {
      fix->skipped = absl::StrCat("add the stage variable ", name, ": \"", value, "\" by hand");
      return;
    }
    const pipeline::TextPoint& at = spec_key->second;
    const std::string pad(at.column, ' ');
    Edit(at.offset, at.offset,
         absl::StrCat("variables:\n", pad, "  - name: ", name, "\n", pad, "    type: String\n",
                      pad, "    value: \"", value, "\"\n", pad),
         fix);
  }

  // A change of step type: replaces the body of the step's `spec:` by the
  // decided step's, carrying what the user wrote (SpecCarrier). What cannot
  // be carried goes to fix->not_carried; a step Harness would reject, to
  // `rejected`. `dry_run`: the build does not push (so needs no registry
  // login). False (with `skipped`) when the spec cannot be replaced at all.
  bool ChangeType(const pipeline::StepEditPoints& points, const v1::Decision& d, bool dry_run,
                  std::string* rejected, FindingFix* fix) {
    const pipeline::MappingPoints& spec = points.spec;
    const auto spec_key = points.step.keys.find("spec");
    SpecCarrier carrier(lines_, spec, d, &fix->not_carried);
    if (spec_key == points.step.keys.end() || !carrier.ok() || !spec.is_mapping) {
      fix->skipped = "the step's spec cannot be replaced";
      return false;
    }
    const pipeline::TextPoint& mark = spec_key->second;
    if (spec.flow_style || spec.start.line <= mark.line) {
      fix->skipped = "the step's spec is not a block mapping";
      return false;
    }
    carrier.CarryAll(dry_run);
    *rejected = carrier.Rejected();
    const int first = mark.line + 1, last = BlockEnd(lines_, mark.line, mark.column);
    std::string replacement = carrier.Body(first, last);
    const std::size_t begin = lines_.Start(first);
    std::size_t end = lines_.Start(last + 1);
    if (end > text_.size()) end = text_.size();
    if (end == text_.size() && (text_.empty() || text_.back() != '\n')) replacement.pop_back();
    Edit(begin, end, replacement, fix);
    return true;
  }

  void Edit(std::size_t begin, std::size_t end, std::string replacement, FindingFix* fix) {
    TextEdit e;
    e.begin = begin;
    e.end = end;
    e.replacement = std::move(replacement);
    const int l1 = lines_.LineOf(begin), l2 = lines_.LineOf(end);
    e.start_line = l1 + 1;
    e.start_column = static_cast<int>(begin - lines_.Start(l1)) + 1;
    e.end_line = l2 + 1;
    e.end_column = static_cast<int>(end - lines_.Start(l2)) + 1;
    fix->edits.push_back(std::move(e));
  }

  absl::string_view text_;
  Lines lines_;
};

}  // namespace

FileFix PlanFixes(absl::string_view text, const LintResult& result) {
  FileFix out;
  Planner planner(text);
  for (int i = 0; i < result.report.findings_size(); ++i) {
    const v1::Finding& f = result.report.findings(i);
    if (f.verdict() != v1::VERDICT_ALLOW_WITH_CHANGES) continue;
    const int build = result.build_index[i];
    if (build < 0 || f.rule() == v1::UNMANAGED_BUILD) {
      FindingFix& fix = out.findings.emplace_back();
      fix.finding = i;
      fix.skipped = "replace this build by hand with the decided step";
      continue;
    }
    planner.Finding(i, f, result.document.builds[build], &out);
  }
  return out;
}

std::string ApplyFixes(absl::string_view text, const FileFix& fix) {
  std::vector<const TextEdit*> edits;
  for (const FindingFix& f : fix.findings) {
    for (const TextEdit& e : f.edits) edits.push_back(&e);
  }
  std::stable_sort(edits.begin(), edits.end(), [](const TextEdit* a, const TextEdit* b) {
    return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
  });
  std::string out;
  std::size_t at = 0;
  const TextEdit* previous = nullptr;
  for (const TextEdit* e : edits) {
    if (previous != nullptr && e->begin == previous->begin && e->end == previous->end &&
        e->replacement == previous->replacement) {
      continue;  // The same edit from two findings (a shared security context).
    }
    if (e->begin < at) continue;  // Overlaps an earlier edit.
    out.append(text.data() + at, e->begin - at);
    out.append(e->replacement);
    at = e->end;
    previous = e;
  }
  out.append(text.data() + at, text.size() - at);
  return out;
}

namespace {

// `text` split into lines, each with its '\n' (the last one may lack it).
std::vector<absl::string_view> LinesOf(absl::string_view text) {
  std::vector<absl::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::size_t length = end == absl::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(0, length));
    text.remove_prefix(length);
  }
  return lines;
}

}  // namespace

std::string UnifiedDiff(absl::string_view before, absl::string_view after, absl::string_view file) {
  if (before == after) return std::string();
  // Lines keep their '\n', so a last line without one differs from the same
  // line with one, as in GNU diff.
  const std::vector<absl::string_view> a = LinesOf(before);
  const std::vector<absl::string_view> b = LinesOf(after);
  // Lines equal at both ends; the rest differs, diffed line by line with an
  // LCS over the (small) middle windows between equal lines.
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  // Myers-free simple approach: LCS table over the whole text is too big for
  // long files, so match runs greedily with a lookahead window.
  std::vector<std::pair<char, absl::string_view>> ops;  // ' ', '-', '+'
  int i = 0, j = 0;
  constexpr int kWindow = 400;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ops.push_back({' ', a[i++]});
      ++j;
      continue;
    }
    // The nearest resynchronisation point within the window.
    int best_i = n, best_j = m, best_cost = 1 << 30;
    for (int di = 0; di <= kWindow && i + di <= n; ++di) {
      for (int dj = 0; dj <= kWindow && j + dj <= m; ++dj) {
        if (di + dj >= best_cost) break;
        const bool end = i + di == n && j + dj == m;
        if (end || (i + di < n && j + dj < m && a[i + di] == b[j + dj])) {
          best_cost = di + dj;
          best_i = i + di;
          best_j = j + dj;
          break;
        }
      }
    }
    while (i < best_i) ops.push_back({'-', a[i++]});
    while (j < best_j) ops.push_back({'+', b[j++]});
  }
  std::string out = absl::StrCat("--- a/", file, "\n+++ b/", file, "\n");
  constexpr int kContext = 3;
  const int total = static_cast<int>(ops.size());
  int k = 0;
  int old_line = 1, new_line = 1;  // Of ops[k].
  while (k < total) {
    if (ops[k].first == ' ') {
      ++old_line;
      ++new_line;
      ++k;
      continue;
    }
    // A hunk: from kContext lines before this change to kContext after the
    // last change that is at most 2*kContext equal lines from the next.
    const int start = std::max(0, k - kContext);
    int end = k;
    int equal_run = 0;
    for (int x = k; x < total; ++x) {
      if (ops[x].first == ' ') {
        if (++equal_run > 2 * kContext) break;
      } else {
        equal_run = 0;
        end = x;
      }
    }
    const int stop = std::min(total, end + 1 + kContext);
    const int old_start = old_line - (k - start), new_start = new_line - (k - start);
    int old_count = 0, new_count = 0;
    std::string body;
    for (int x = start; x < stop; ++x) {
      absl::StrAppend(&body, std::string(1, ops[x].first), ops[x].second);
      if (!absl::EndsWith(ops[x].second, "\n")) {
        absl::StrAppend(&body, "\n\\ No newline at end of file\n");
      }
      if (ops[x].first != '+') ++old_count;
      if (ops[x].first != '-') ++new_count;
    }
    absl::StrAppend(&out, "@@ -", old_count == 0 ? old_start - 1 : old_start, ",", old_count,
                    " +", new_count == 0 ? new_start - 1 : new_start, ",", new_count, " @@\n",
                    body);
    for (int x = k; x < stop; ++x) {
      if (ops[x].first != '+') ++old_line;
      if (ops[x].first != '-') ++new_line;
    }
    k = stop;
  }
  return out;
}

}  // namespace buildgate::lint
