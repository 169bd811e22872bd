#include "engine/render.h"

#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grammar/expression.h"

namespace buildgate {
namespace {

bool IsReservedWord(absl::string_view v) {
  if (v.size() > 5) return false;
  char lower[6];
  for (std::size_t i = 0; i < v.size(); ++i) {
    lower[i] = absl::ascii_tolower(static_cast<unsigned char>(v[i]));
  }
  const absl::string_view w(lower, v.size());
  return w == "true" || w == "false" || w == "yes" || w == "no" || w == "on" || w == "off" ||
         w == "null" || w == "~" || w == "y" || w == "n";
}

// Characters that may not start a plain scalar; characters that need a look
// at their neighbours (':' and '#') or always need quotes (control).
struct ScalarTables {
  bool bad_first[256] = {};
  bool special[256] = {};
  ScalarTables() {
    for (unsigned char c : absl::string_view("-?:,[]{}#&*!|>'\"%@` \t")) bad_first[c] = true;
    special[static_cast<unsigned char>(':')] = special[static_cast<unsigned char>('#')] = true;
    for (int c = 0; c < 256; ++c) {
      if (c < 0x20 || c == 0x7f) special[c] = bad_first[c] = true;
    }
  }
};
const ScalarTables& Tables() {
  static const ScalarTables tables;
  return tables;
}

bool LooksNumeric(absl::string_view v) {
  const char c = v.front();
  if (!(absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.')) {
    return false;
  }
  double d;
  return absl::SimpleAtod(v, &d);
}

bool NeedsQuotes(absl::string_view v) {
  if (v.empty()) return true;
  const ScalarTables& t = Tables();
  if (t.bad_first[static_cast<unsigned char>(v.front())]) return true;
  const std::size_t n = v.size();
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (!t.special[c]) continue;
    if (c == ':') {
      if (i + 1 == n || v[i + 1] == ' ') return true;  // "key: value" or a trailing colon.
    } else if (c == '#') {
      if (v[i - 1] == ' ') return true;  // A comment (i > 0: '#' cannot be first here).
    } else {
      return true;  // Control character.
    }
  }
  if (v.back() == ' ') return true;
  return IsReservedWord(v) || LooksNumeric(v);  // Booleans and numbers stay strings.
}

void AppendQuoted(std::string* out_ptr, absl::string_view v) {
  std::string& out = *out_ptr;
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
          absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendScalar(std::string* out, absl::string_view value) {
  if (NeedsQuotes(value)) {
    AppendQuoted(out, value);
  } else {
    out->append(value.data(), value.size());
  }
}

void Line(std::string* out, int indent, absl::string_view key, absl::string_view value) {
  if (NeedsQuotes(value)) {
    out->append(indent, ' ');
    out->append(key.data(), key.size());
    out->append(": ");
    AppendQuoted(out, value);
    out->push_back('\n');
    return;
  }
  // The common case in one resize and a few copies.
  const std::size_t old = out->size();
  out->resize(old + indent + key.size() + 2 + value.size() + 1);
  char* p = &(*out)[old];
  std::memset(p, ' ', indent);
  p += indent;
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  *p++ = ':';
  *p++ = ' ';
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p = '\n';
}

void BuildAndPushFields(const v1::BuildStep& step, const Proposal& p, std::string* out) {
  switch (p.destination) {
    case v1::DESTINATION_ECR:
      if (!p.ecr_region.empty()) {
        Line(out, 6, "region", p.ecr_region);
        Line(out, 6, "account", p.ecr_account);
      }
      Line(out, 6, "imageName", step.repo());
      break;
    case v1::DESTINATION_GCR:
    case v1::DESTINATION_GAR:
      Line(out, 6, "host", p.registry_host);
      if (!p.gcp_project.empty()) Line(out, 6, "projectID", p.gcp_project);
      Line(out, 6, "imageName", p.gcp_image_name);
      break;
    case v1::DESTINATION_ACR:
      Line(out, 6, "repository", p.push_target);
      break;
    default:
      Line(out, 6, "repo", step.repo());
      break;
  }
  if (step.tags_size() > 0) {
    out->append(6, ' ');
    out->append("tags:\n");
    for (const std::string& tag : step.tags()) {
      out->append(8, ' ');
      out->append("- ");
      AppendScalar(out, tag);
      out->push_back('\n');
    }
  }
  if (!step.dockerfile().empty()) Line(out, 6, "dockerfile", step.dockerfile());
  if (!step.context().empty()) Line(out, 6, "context", step.context());
}

}  // namespace

void RenderStepYaml(const v1::BuildStep& step, const v1::Decision& d, const Proposal& p,
                    std::string* out_ptr) {
  std::string& out = *out_ptr;
  out.clear();
  out.reserve(512);
  // Both arms are string_views: a `cond ? "literal" : std::string` would make a
  // temporary std::string that dies at the end of this line.
  const absl::string_view id = step.step_id().empty() ? absl::string_view("build_and_push")
                                                      : absl::string_view(step.step_id());
  const absl::string_view name = step.name().empty() ? id : absl::string_view(step.name());
  out.append("- step:\n");
  Line(&out, 4, "type", d.harness_step_type());
  Line(&out, 4, "name", name);
  Line(&out, 4, "identifier", id);
  out.append("    spec:\n");
  Line(&out, 6, "connectorRef",
       step.connector_ref().empty() ? "YOUR_CONNECTOR" : step.connector_ref());
  if (d.step_type() == v1::STEP_TYPE_PLUGIN) {
    Line(&out, 6, "image", d.image());
    // A plain YAML boolean, as Harness writes it; off Kubernetes the
    // decision sets none.
    if (d.has_privileged()) {
      absl::StrAppend(&out, "      privileged: ", d.privileged() ? "true" : "false", "\n");
    }
    bool any_setting = false;
    for (const v1::Setting& s : d.settings()) {
      if (s.scope() != v1::ENV_SCOPE_PLUGIN_SETTING) continue;
      if (!any_setting) out.append("      settings:\n");
      any_setting = true;
      Line(&out, 8, s.name(), s.value());
    }
  } else {
    BuildAndPushFields(step, p, &out);
    for (const v1::Setting& s : d.settings()) {
      if (s.scope() == v1::ENV_SCOPE_STEP_FIELD) {
        out.append(6, ' ');
        absl::StrAppend(&out, s.name(), ": ", s.value(), "\n");
      }
    }
    bool any_env = false;
    for (const v1::Setting& s : d.settings()) {
      if (s.scope() != v1::ENV_SCOPE_STEP_ENV) continue;
      if (!any_env) out.append("      envVariables:\n");
      any_env = true;
      Line(&out, 8, s.name(), s.value());
    }
  }
  if (d.has_run_as_user()) {
    absl::StrAppend(&out, "      runAsUser: \"", d.run_as_user(), "\"\n");
  }
}

std::string YamlScalar(absl::string_view value) {
  std::string out;
  AppendScalar(&out, value);
  return out;
}

void RenderStageVariablesYaml(const v1::Decision& d, std::string* out) {
  out->clear();
  for (const v1::Setting& s : d.settings()) {
    if (s.scope() != v1::ENV_SCOPE_STAGE_VARIABLE) continue;
    if (out->empty()) out->append("variables:\n");
    out->append("  - name: ");
    AppendScalar(out, s.name());
    out->append("\n    type: String\n    value: ");
    AppendQuoted(out, s.value());
    out->push_back('\n');
  }
}

bool IsPlaintextCredential(absl::string_view value) {
  return !value.empty() && !IsHarnessExpression(value);
}

void RedactPlaintextSecrets(v1::BuildStep* step) {
  v1::RegistryCredentials* cred = step->mutable_credentials();
  if (IsPlaintextCredential(cred->password())) cred->set_password(std::string(kRedacted));
}

std::string ChangeText(const v1::Change& change) {
  return absl::StrCat(change.field(), ": ", change.proposed().empty() ? "(unset)" : change.proposed(),
                      " -> ", change.required());
}

}  // namespace buildgate
