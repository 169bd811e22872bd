#include "pipeline/internal/infrastructure.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "grammar/expression.h"
#include "input/limits.h"
#include "pipeline/internal/edit_point_reader.h"

namespace buildgate::pipeline::internal {

absl::Status ReadVariables(const FieldReader& fields, const YAML::Node& owner,
                           const std::string& path, absl::string_view level, Variables* variables) {
  const YAML::Node vars = owner["variables"];
  if (!vars || vars.IsNull()) return absl::OkStatus();
  const std::string at = JoinPath(path, "variables");
  if (!vars.IsSequence()) return fields.Error(vars, at, "expected a list of {name, type, value}");
  for (std::size_t i = 0; i < vars.size(); ++i) {
    const YAML::Node var = vars[i];
    const std::string var_at = absl::StrCat(at, "[", i, "]");
    if (!var.IsMap()) return fields.Error(var, var_at, "expected {name, type, value}");
    BG_ASSIGN_OR_RETURN(const std::string name, fields.Text(var, "name", var_at));
    BG_ASSIGN_OR_RETURN(const std::string type, fields.Text(var, "type", var_at));
    if (type == "Secret") continue;  // Never read or echoed.
    BG_ASSIGN_OR_RETURN(const std::string value, fields.Text(var, "value", var_at));
    (*variables)[name] = Variable{value, absl::StrCat(level, ".variables.", name)};
  }
  return absl::OkStatus();
}

void ApplyInfrastructure(const Infrastructure& infra, FoundBuild* build) {
  for (const Unresolved& u : infra.unresolved) build->unresolved.push_back(u);
  v1::BuildStep& step = build->build_step;
  if (infra.type != v1::INFRASTRUCTURE_TYPE_UNSPECIFIED) {
    step.mutable_infrastructure()->set_type(infra.type);
  }
  if (infra.os != v1::OPERATING_SYSTEM_UNSPECIFIED) step.mutable_infrastructure()->set_os(infra.os);
  if (infra.context) {
    *step.mutable_infrastructure()->mutable_container_security_context() = *infra.context;
  }
  if (infra.arch != v1::ARCH_UNSPECIFIED) build->build_step.set_arch(infra.arch);
  build->edit_points.security_context = infra.context_points;
}

Infrastructure* InfrastructureResolver::New() {
  owned_.push_back(std::make_unique<Infrastructure>());
  return owned_.back().get();
}

void InfrastructureResolver::RememberStage(const std::string& stage_id,
                                           const Infrastructure* infrastructure) {
  if (!stage_id.empty()) by_stage_[stage_id] = infrastructure;
}

absl::StatusOr<const Infrastructure*> InfrastructureResolver::ReadStage(const YAML::Node& spec,
                                                                        const std::string& path) {
  Infrastructure* infra = New();
  if (const YAML::Node platform = spec["platform"]; platform && platform.IsMap()) {
    const std::string platform_at = JoinPath(path, "platform");
    BG_RETURN_IF_ERROR(ReadArch(platform, platform_at, "arch", "platform.arch", infra));
    BG_RETURN_IF_ERROR(ReadOs(platform, platform_at, "platform.os", infra));
  }
  if (const YAML::Node runtime = spec["runtime"]; runtime && !runtime.IsNull()) {
    BG_RETURN_IF_ERROR(ReadRuntime(runtime, JoinPath(path, "runtime"), infra));
  }
  const YAML::Node node = spec["infrastructure"];
  if (!node || node.IsNull()) return infra;
  const std::string at = JoinPath(path, "infrastructure");
  if (node.IsScalar() && ContainsHarnessExpression(node.Scalar())) {
    infra->unresolved.push_back({"infrastructure", node.Scalar(), UnknownValue::kInfrastructure});
    return infra;
  }
  if (!node.IsMap()) return fields_.Error(node, at, "expected a mapping");
  if (const YAML::Node from = node["useFromStage"]) {
    BG_ASSIGN_OR_RETURN(const std::string stage, fields_.Text(node, "useFromStage", at));
    const auto it = by_stage_.find(stage);
    if (it == by_stage_.end()) {
      return fields_.Error(from, JoinPath(at, "useFromStage"),
                           absl::StrCat("no CI stage ", QuoteInput(stage), " before this one"));
    }
    *infra = *it->second;
    return infra;
  }
  BG_RETURN_IF_ERROR(ReadOfType(node, at, infra));
  return infra;
}

absl::StatusOr<const Infrastructure*> InfrastructureResolver::ReadStepGroup(
    const YAML::Node& node, const std::string& path) {
  Infrastructure* infra = New();
  if (!node.IsMap()) return fields_.Error(node, path, "expected a mapping");
  BG_RETURN_IF_ERROR(ReadOfType(node, path, infra));
  return infra;
}

absl::Status InfrastructureResolver::ReadOfType(const YAML::Node& node, const std::string& path,
                                                Infrastructure* infra) {
  BG_ASSIGN_OR_RETURN(const std::string type, fields_.Text(node, "type", path));
  if (ContainsHarnessExpression(type)) {
    infra->unresolved.push_back({"infrastructure.type", type, UnknownValue::kInfrastructure});
    return absl::OkStatus();
  }
  // One reader per infrastructure type.
  const YAML::Node spec = node["spec"];
  const std::string spec_at = JoinPath(path, "spec");
  if (spec && !spec.IsNull() && !spec.IsMap()) {
    return fields_.Error(spec, spec_at, "expected a mapping");
  }
  const bool has_spec = spec && spec.IsMap();
  if (type == "KubernetesDirect" || type == "KubernetesHosted") {  // Hosted: the legacy name.
    infra->type = v1::INFRASTRUCTURE_TYPE_KUBERNETES;
    return has_spec ? ReadKubernetes(spec, spec_at, infra) : absl::OkStatus();
  }
  if (type == "VM") {
    infra->type = v1::INFRASTRUCTURE_TYPE_VM;
    return has_spec ? ReadVmPool(spec, spec_at, infra) : absl::OkStatus();
  }
  // A step group's infrastructure that is no CI build infrastructure
  // (Delegate, Noop, ECSDirect): where its builds run is not known here.
  infra->unresolved.push_back({"infrastructure.type", type, UnknownValue::kInfrastructure});
  return absl::OkStatus();
}

absl::Status InfrastructureResolver::ReadRuntime(const YAML::Node& node, const std::string& path,
                                                 Infrastructure* infra) {
  if (node.IsScalar() && ContainsHarnessExpression(node.Scalar())) {
    infra->unresolved.push_back({"runtime", node.Scalar(), UnknownValue::kInfrastructure});
    return absl::OkStatus();
  }
  if (!node.IsMap()) return fields_.Error(node, path, "expected a mapping");
  BG_ASSIGN_OR_RETURN(const std::string type, fields_.Text(node, "type", path));
  if (ContainsHarnessExpression(type)) {
    infra->unresolved.push_back({"runtime.type", type, UnknownValue::kInfrastructure});
  } else if (type == "Cloud") {
    infra->type = v1::INFRASTRUCTURE_TYPE_HARNESS_CLOUD;
  } else if (type == "Docker") {
    infra->type = v1::INFRASTRUCTURE_TYPE_LOCAL_DOCKER;
  } else {
    return fields_.Error(node["type"], JoinPath(path, "type"),
                         absl::StrCat("unknown runtime type ", QuoteInput(type),
                                      " (Cloud or Docker)"));
  }
  return absl::OkStatus();
}

absl::Status InfrastructureResolver::ReadVmPool(const YAML::Node& spec, const std::string& spec_at,
                                                Infrastructure* infra) {
  const YAML::Node pool = spec["spec"];
  if (!pool || pool.IsNull()) return absl::OkStatus();
  const std::string pool_at = JoinPath(spec_at, "spec");
  if (pool.IsScalar() && ContainsHarnessExpression(pool.Scalar())) {
    infra->unresolved.push_back({"infrastructure.spec.spec", pool.Scalar(), UnknownValue::kOs});
    return absl::OkStatus();
  }
  if (!pool.IsMap()) return fields_.Error(pool, pool_at, "expected a mapping");
  return ReadOs(pool, pool_at, "infrastructure.spec.spec.os", infra);
}

absl::Status InfrastructureResolver::ReadKubernetes(const YAML::Node& spec,
                                                    const std::string& spec_at,
                                                    Infrastructure* infra) {
  BG_RETURN_IF_ERROR(ReadOs(spec, spec_at, "infrastructure.spec.os", infra));
  if (const YAML::Node selector = spec["nodeSelector"]; selector && selector.IsMap()) {
    for (const char* key : {"kubernetes.io/arch", "beta.kubernetes.io/arch"}) {
      if (selector[key]) {
        BG_RETURN_IF_ERROR(ReadArch(selector, JoinPath(spec_at, "nodeSelector"), key,
                                    absl::StrCat("infrastructure.spec.nodeSelector.", key), infra));
        break;
      }
    }
  }
  BG_ASSIGN_OR_RETURN(
      const std::optional<int64_t> spec_uid,
      fields_.Uid(spec, "runAsUser", spec_at, "infrastructure.spec.runAsUser", &infra->unresolved));
  const YAML::Node context = spec["containerSecurityContext"];
  if (!context || context.IsNull()) {
    if (spec_uid) infra->context.emplace().set_run_as_user(*spec_uid);
    return absl::OkStatus();
  }
  return ReadSecurityContext(context, JoinPath(spec_at, "containerSecurityContext"), spec_uid,
                             infra);
}

// A Kubernetes `containerSecurityContext`; its runAsUser defaults to the
// pod spec's (`spec_uid`).
absl::Status InfrastructureResolver::ReadSecurityContext(const YAML::Node& ctx,
                                                         const std::string& ctx_at,
                                                         std::optional<int64_t> spec_uid,
                                                         Infrastructure* infra) {
  const std::string field = "infrastructure.containerSecurityContext";
  if (ctx.IsScalar() && ContainsHarnessExpression(ctx.Scalar())) {
    infra->unresolved.push_back({field, ctx.Scalar()});
    return absl::OkStatus();
  }
  if (!ctx.IsMap()) return fields_.Error(ctx, ctx_at, "expected a mapping");
  infra->context_points = MappingPointsOf(ctx);
  v1::ContainerSecurityContext& out = infra->context.emplace();
  std::vector<Unresolved>* unresolved = &infra->unresolved;
  BG_ASSIGN_OR_RETURN(auto non_root, fields_.Bool(ctx, "runAsNonRoot", ctx_at,
                                                  field + ".runAsNonRoot", unresolved));
  if (non_root) out.set_run_as_non_root(*non_root);
  BG_ASSIGN_OR_RETURN(auto uid,
                      fields_.Uid(ctx, "runAsUser", ctx_at, field + ".runAsUser", unresolved));
  if (!uid) uid = spec_uid;
  if (uid) out.set_run_as_user(*uid);
  BG_ASSIGN_OR_RETURN(auto privileged,
                      fields_.Bool(ctx, "privileged", ctx_at, field + ".privileged", unresolved));
  if (privileged) out.set_privileged(*privileged);
  BG_ASSIGN_OR_RETURN(auto escalation,
                      fields_.Bool(ctx, "allowPrivilegeEscalation", ctx_at,
                                   field + ".allowPrivilegeEscalation", unresolved));
  if (escalation) out.set_allow_privilege_escalation(*escalation);
  if (const YAML::Node caps = ctx["capabilities"]; caps && caps.IsMap()) {
    for (const char* list : {"add", "drop"}) {
      const YAML::Node names = caps[list];
      if (!names) continue;
      const std::string list_at = absl::StrCat(ctx_at, ".capabilities.", list);
      if (!names.IsSequence()) return fields_.Error(names, list_at, "expected a list");
      for (const YAML::Node& name : names) {
        if (!name.IsScalar()) return fields_.Error(name, list_at, "expected capability names");
        auto* target = std::string(list) == "add" ? out.mutable_capabilities()->mutable_add()
                                                  : out.mutable_capabilities()->mutable_drop();
        target->Add(std::string(name.Scalar()));
      }
    }
  }
  // Blank fields are unset (Harness's UI writes `runAsUser: ""` for a field
  // left empty), so a context of blanks says nothing: the same as none. Its
  // edit points stay, for a fix to add keys to it.
  if (out.ByteSizeLong() == 0) infra->context.reset();
  return absl::OkStatus();
}

absl::Status InfrastructureResolver::ReadArch(const YAML::Node& map, const std::string& path,
                                              const char* key, const std::string& field,
                                              Infrastructure* infra) {
  BG_ASSIGN_OR_RETURN(const std::string text, fields_.Text(map, key, path));
  if (text.empty()) return absl::OkStatus();
  if (ContainsHarnessExpression(text)) {
    infra->unresolved.push_back({field, text, UnknownValue::kArch});
    return absl::OkStatus();
  }
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "amd64" || lower == "x86_64") {
    infra->arch = v1::ARCH_AMD64;
  } else if (lower == "arm64" || lower == "aarch64") {
    infra->arch = v1::ARCH_ARM64;
  } else {
    return fields_.Error(
        map[key], JoinPath(path, key),
        absl::StrCat("unknown architecture ", QuoteInput(text), " (Amd64 or Arm64)"));
  }
  return absl::OkStatus();
}

// `os`: Linux, Windows or MacOS (Harness's spelling; any case).
absl::Status InfrastructureResolver::ReadOs(const YAML::Node& map, const std::string& path,
                                            const std::string& field, Infrastructure* infra) {
  BG_ASSIGN_OR_RETURN(const std::string text, fields_.Text(map, "os", path));
  if (text.empty()) return absl::OkStatus();
  if (ContainsHarnessExpression(text)) {
    infra->unresolved.push_back({field, text, UnknownValue::kOs});
    return absl::OkStatus();
  }
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "linux") {
    infra->os = v1::OPERATING_SYSTEM_LINUX;
  } else if (lower == "windows") {
    infra->os = v1::OPERATING_SYSTEM_WINDOWS;
  } else if (lower == "macos") {
    infra->os = v1::OPERATING_SYSTEM_MACOS;
  } else {
    return fields_.Error(map["os"], JoinPath(path, "os"),
                         absl::StrCat("unknown operating system ", QuoteInput(text),
                                      " (Linux, Windows or MacOS)"));
  }
  return absl::OkStatus();
}

}  // namespace buildgate::pipeline::internal
