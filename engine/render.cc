#include "engine/render.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/registry.h"

namespace buildgate {
namespace {

bool NeedsQuotes(absl::string_view v) {
  if (v.empty()) return true;
  if (absl::ascii_isspace(static_cast<unsigned char>(v.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(v.back()))) {
    return true;
  }
  if (absl::string_view("-?:,[]{}#&*!|>'\"%@`").find(v.front()) != absl::string_view::npos) {
    return true;
  }
  if (absl::StrContains(v, ": ") || absl::StrContains(v, " #") || absl::EndsWith(v, ":")) return true;
  for (char c : v) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) return true;
  }
  const std::string lower = absl::AsciiStrToLower(v);
  if (lower == "true" || lower == "false" || lower == "yes" || lower == "no" || lower == "on" ||
      lower == "off" || lower == "null" || lower == "~") {
    return true;
  }
  double d;
  return absl::SimpleAtod(v, &d);  // Numbers stay strings.
}

std::string Quote(absl::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
          absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

void Line(std::string* out, int indent, absl::string_view key, absl::string_view value) {
  out->append(indent, ' ');
  absl::StrAppend(out, key, ": ", YamlScalar(value), "\n");
}

void BuildAndPushFields(const v1::BuildStep& step, v1::Destination dest, std::string* out) {
  const std::string host = RegistryHost(dest, step.registry());
  const std::vector<std::string> labels = absl::StrSplit(host, '.');
  switch (dest) {
    case v1::DESTINATION_ECR:
      if (labels.size() >= 4) {
        Line(out, 6, "region", labels[3]);
        Line(out, 6, "account", labels[0]);
      }
      Line(out, 6, "imageName", step.repo());
      break;
    case v1::DESTINATION_GCR:
    case v1::DESTINATION_GAR: {
      Line(out, 6, "host", host);
      const std::size_t slash = step.repo().find('/');
      if (slash != std::string::npos) {
        Line(out, 6, "projectID", step.repo().substr(0, slash));
        Line(out, 6, "imageName", step.repo().substr(slash + 1));
      } else {
        Line(out, 6, "imageName", step.repo());
      }
      break;
    }
    case v1::DESTINATION_ACR:
      Line(out, 6, "repository",
           absl::StartsWith(step.repo(), host) ? step.repo() : absl::StrCat(host, "/", step.repo()));
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
      absl::StrAppend(out, "- ", YamlScalar(tag), "\n");
    }
  }
  if (!step.dockerfile().empty()) Line(out, 6, "dockerfile", step.dockerfile());
  if (!step.context().empty()) Line(out, 6, "context", step.context());
}

}  // namespace

std::string YamlScalar(absl::string_view value) {
  return NeedsQuotes(value) ? Quote(value) : std::string(value);
}

std::string RenderStepYaml(const v1::BuildStep& step, const v1::Decision& d,
                           v1::Destination dest) {
  std::string out;
  const std::string id = step.step_id().empty() ? "build_and_push" : step.step_id();
  const std::string name = step.name().empty() ? id : step.name();
  out.append("- step:\n");
  Line(&out, 4, "type", d.harness_step_type());
  Line(&out, 4, "name", name);
  Line(&out, 4, "identifier", id);
  out.append("    spec:\n");
  Line(&out, 6, "connectorRef", step.connector_ref().empty() ? "YOUR_CONNECTOR" : step.connector_ref());
  if (d.step_type() == v1::STEP_TYPE_PLUGIN) {
    Line(&out, 6, "image", d.image());
    // A plain YAML boolean, as Harness writes it.
    absl::StrAppend(&out, "      privileged: ", d.privileged() ? "true" : "false", "\n");
    bool any_setting = false;
    for (const v1::Setting& s : d.settings()) {
      if (s.scope() != v1::ENV_SCOPE_PLUGIN_SETTING) continue;
      if (!any_setting) out.append("      settings:\n");
      any_setting = true;
      Line(&out, 8, s.name(), s.value());
    }
  } else {
    BuildAndPushFields(step, dest, &out);
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
  return out;
}

std::string RenderStageVariablesYaml(const v1::Decision& d) {
  std::string out;
  for (const v1::Setting& s : d.settings()) {
    if (s.scope() != v1::ENV_SCOPE_STAGE_VARIABLE) continue;
    if (out.empty()) out.append("variables:\n");
    absl::StrAppend(&out, "  - name: ", YamlScalar(s.name()), "\n    type: String\n    value: ",
                    Quote(s.value()), "\n");
  }
  return out;
}

}  // namespace buildgate
