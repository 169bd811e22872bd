#include "pipeline/harness_pipeline.h"

#include <map>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/input_error.h"
#include "common/status.h"
#include "grammar/expression.h"
#include "grammar/reference.h"
#include "engine/render.h"
#include "input/yaml_document.h"
#include "engine/policy.h"

namespace buildgate::pipeline {
namespace {

constexpr std::size_t kMaxIdentifier = 128;

// Points `*dst` at `src` (a missing child becomes a null node). Never
// `dst = src`: yaml-cpp's Node::operator= writes through an already bound
// node into the document instead of rebinding it.
void Bind(YAML::Node* dst, const YAML::Node& src) {
  if (src) {
    dst->reset(src);
  } else {
    dst->reset();
  }
}

// The infrastructure steps run on, as far as a build decision needs it.
struct Infrastructure {
  bool described = false;  // A KubernetesDirect (or legacy hosted) spec was read.
  std::optional<v1::ContainerSecurityContext> context;
  v1::Arch arch = v1::ARCH_UNSPECIFIED;
  bool arch_unknown = false;
  std::string os;  // Not Linux, as written; "" for Linux or not said.
  std::vector<Unresolved> unresolved;
  YAML::Node context_node;
};

// Environment a step sees from pipeline, stage and step group variables.
struct Variable {
  std::string value;
  std::string field;  // Where it was set ("stage.variables.PLUGIN_DRY_RUN").
};
using Variables = std::map<std::string, Variable, std::less<>>;

// What a step inherits from where it sits.
struct Scope {
  std::string stage_id;
  const Infrastructure* infrastructure = nullptr;
  Variables variables;
  std::vector<std::string> matrix_scopes;
  YAML::Node stage_variables;
  YAML::Node stage;
};

// A step item found while walking a stage, handled once the whole stage is
// known (a Run step's docker:dind Background step may come after it).
struct StepVisit {
  YAML::Node item;  // The `- step:` item mapping.
  YAML::Node step;  // Its `step` mapping.
  std::string path;
  Scope scope;
};

class Reader {
 public:
  Reader(absl::string_view file, PipelineDocument* out) : file_(file), out_(out) {}

  absl::Status Root(const YAML::Node& root) {
    if (root.IsSequence()) {
      // A list of `- stage:` or `- step:` items (the brief's fragments).
      if (root.size() == 0) {
        return Error(root, "", "an empty list is not a Harness pipeline, stage or step");
      }
      std::vector<StepVisit> steps;
      Scope scope;
      for (std::size_t i = 0; i < root.size(); ++i) {
        const YAML::Node item = root[i];
        const std::string path = absl::StrCat("[", i, "]");
        if (item.IsMap() && (item["stage"] || item["parallel"]) && !item["step"]) {
          BG_RETURN_IF_ERROR(StageItem(item, path));
        } else {
          BG_RETURN_IF_ERROR(StepItem(item, path, scope, &steps));
        }
      }
      return Steps(steps);
    }
    if (!root.IsMap()) {
      return Error(root, "", "expected a Harness `pipeline:`, `stage:` or `step:` document");
    }
    if (const YAML::Node version = root["version"]) {
      return Error(version, "version",
                   "the Harness v1 pipeline grammar is not supported; buildgate reads v0 "
                   "(`pipeline:` with `stages:`)");
    }
    if (const YAML::Node pipeline = root["pipeline"]) return Pipeline(pipeline, "pipeline");
    if (root["stage"]) return StageItem(root, "");
    if (root["step"] || root["stepGroup"] || root["parallel"]) {
      std::vector<StepVisit> steps;
      BG_RETURN_IF_ERROR(StepItem(root, "", Scope(), &steps));
      return Steps(steps);
    }
    return Error(root, "",
                 "not a Harness pipeline: expected a `pipeline`, `stage` or `step` key (or "
                 "the governance hook's {\"pipeline\": ...})");
  }

 private:
  // ----- Errors and scalars -------------------------------------------------

  absl::Status Error(const YAML::Node& node, absl::string_view path, absl::string_view what) const {
    const YAML::Mark mark = node.Mark();
    return LocatedError(file_, mark.line + 1, mark.column + 1, path, what);
  }

  Location At(const YAML::Node& node, std::string path) const {
    const YAML::Mark mark = node.Mark();
    return Location{mark.line + 1, mark.column + 1, std::move(path)};
  }

  static std::string Join(absl::string_view path, absl::string_view key) {
    return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
  }

  // A scalar field's text; "" when absent or null.
  absl::StatusOr<std::string> Text(const YAML::Node& map, absl::string_view key,
                                   absl::string_view path) const {
    const YAML::Node node = map[std::string(key)];
    if (!node || node.IsNull()) return std::string();
    if (!node.IsScalar()) return Error(node, Join(path, key), "expected a single value");
    return node.Scalar();
  }

  // A true/false field; nullopt when absent; an expression goes to `unresolved`.
  absl::StatusOr<std::optional<bool>> Bool(const YAML::Node& map, absl::string_view key,
                                           absl::string_view path, absl::string_view field,
                                           std::vector<Unresolved>* unresolved,
                                           UnknownValue kind = UnknownValue::kOther) const {
    BG_ASSIGN_OR_RETURN(const std::string text, Text(map, key, path));
    if (text.empty()) return std::optional<bool>();
    if (ContainsHarnessExpression(text)) {
      unresolved->push_back({std::string(field), text, kind});
      return std::optional<bool>();
    }
    const std::string lower = absl::AsciiStrToLower(text);
    if (lower == "true") return std::optional<bool>(true);
    if (lower == "false") return std::optional<bool>(false);
    return Error(map[std::string(key)], Join(path, key),
                 absl::StrCat("expected true or false, not ", QuoteInput(text)));
  }

  // A UID field (an integer or a string holding one).
  absl::StatusOr<std::optional<int64_t>> Uid(const YAML::Node& map, absl::string_view key,
                                             absl::string_view path, absl::string_view field,
                                             std::vector<Unresolved>* unresolved) const {
    BG_ASSIGN_OR_RETURN(const std::string text, Text(map, key, path));
    if (text.empty()) return std::optional<int64_t>();
    if (ContainsHarnessExpression(text)) {
      unresolved->push_back({std::string(field), text});
      return std::optional<int64_t>();
    }
    int64_t uid = 0;
    if (!absl::SimpleAtoi(text, &uid) || uid < 0 || uid > kMaxUid) {
      return Error(map[std::string(key)], Join(path, key),
                   absl::StrCat("expected a user id from 0 to ", kMaxUid, ", not ", QuoteInput(text)));
    }
    return std::optional<int64_t>(uid);
  }

  // `identifier` as the engine takes it; an identifier Harness refuses is
  // sanitized and reported.
  static std::string EngineId(const std::string& id, absl::string_view field,
                              std::vector<Unresolved>* invalid) {
    if (id.empty() || ContainsHarnessExpression(id)) return std::string();
    if (IsHarnessIdentifier(id)) return id;
    if (invalid != nullptr) invalid->push_back({std::string(field), id});
    return SanitizeHarnessIdentifier(id);
  }

  // ----- Pipeline and stages ------------------------------------------------

  absl::Status Pipeline(const YAML::Node& pipeline, const std::string& path) {
    if (!pipeline.IsMap()) return Error(pipeline, path, "expected a mapping");
    BG_ASSIGN_OR_RETURN(const std::string id, Text(pipeline, "identifier", path));
    BG_ASSIGN_OR_RETURN(const std::string project, Text(pipeline, "projectIdentifier", path));
    pipeline_id_ = EngineId(id, "pipeline.identifier", nullptr);
    project_id_ = EngineId(project, "pipeline.projectIdentifier", nullptr);
    BG_RETURN_IF_ERROR(ReadVariables(pipeline, path, "pipeline", &pipeline_variables_));
    if (const YAML::Node tmpl = pipeline["template"]) {
      return Template(pipeline, path, "pipeline", id, "");
    }
    const YAML::Node stages = pipeline["stages"];
    if (!stages) return Error(pipeline, path, "`stages` is missing");
    if (!stages.IsSequence()) return Error(stages, Join(path, "stages"), "expected a list");
    for (std::size_t i = 0; i < stages.size(); ++i) {
      BG_RETURN_IF_ERROR(StageItem(stages[i], absl::StrCat(path, ".stages[", i, "]")));
    }
    return absl::OkStatus();
  }

  // A `stages[]` item: `stage:` or `parallel:` (a list of items).
  absl::Status StageItem(const YAML::Node& item, const std::string& path) {
    if (!item.IsMap()) return Error(item, path, "expected `stage:` or `parallel:`");
    if (const YAML::Node parallel = item["parallel"]) {
      const std::string at = Join(path, "parallel");
      if (!parallel.IsSequence()) return Error(parallel, at, "expected a list");
      for (std::size_t i = 0; i < parallel.size(); ++i) {
        BG_RETURN_IF_ERROR(StageItem(parallel[i], absl::StrCat(at, "[", i, "]")));
      }
      return absl::OkStatus();
    }
    if (const YAML::Node stage = item["stage"]) return Stage(item, stage, Join(path, "stage"));
    // Harness's stages[] items hold `stage` or `parallel` and nothing else:
    // an item buildgate cannot read may hide a build.
    return Error(item, path, "expected `stage:` or `parallel:`");
  }

  absl::Status Stage(const YAML::Node& item, const YAML::Node& stage, const std::string& path) {
    if (!stage.IsMap()) return Error(stage, path, "expected a mapping");
    BG_ASSIGN_OR_RETURN(const std::string id, Text(stage, "identifier", path));
    if (stage["template"]) return Template(item, path, "stage", id, id);
    BG_ASSIGN_OR_RETURN(const std::string type, Text(stage, "type", path));
    if (type != "CI") return absl::OkStatus();  // Only CI stages build images.
    const YAML::Node spec = stage["spec"];
    if (!spec || !spec.IsMap()) return Error(stage, path, "a CI stage needs a `spec` mapping");
    const std::string spec_path = Join(path, "spec");

    auto infra = std::make_unique<Infrastructure>();
    BG_RETURN_IF_ERROR(StageInfrastructure(spec, spec_path, infra.get()));
    Scope scope;
    scope.stage_id = id;
    scope.infrastructure = infra.get();
    scope.variables = pipeline_variables_;
    BG_RETURN_IF_ERROR(ReadVariables(stage, path, "stage", &scope.variables));
    Bind(&scope.stage_variables, stage["variables"]);
    Bind(&scope.stage, stage);
    if (HasMatrix(stage)) scope.matrix_scopes.push_back(absl::StrCat("stage ", id));
    if (!id.empty()) stage_infrastructure_[id] = infra.get();
    infrastructures_.push_back(std::move(infra));

    const YAML::Node execution = spec["execution"];
    if (!execution) return Error(spec, spec_path, "`execution` is missing");
    const YAML::Node steps = execution["steps"];
    const std::string steps_path = Join(spec_path, "execution.steps");
    if (!steps) return Error(execution, Join(spec_path, "execution"), "`steps` is missing");
    std::vector<StepVisit> visits;
    BG_RETURN_IF_ERROR(StepList(steps, steps_path, scope, &visits));
    return Steps(visits, spec["serviceDependencies"]);
  }

  static bool HasMatrix(const YAML::Node& node) {
    const YAML::Node strategy = node["strategy"];
    return strategy && strategy.IsMap() && strategy["matrix"];
  }

  absl::Status StageInfrastructure(const YAML::Node& spec, const std::string& path,
                                   Infrastructure* infra) {
    if (const YAML::Node platform = spec["platform"]; platform && platform.IsMap()) {
      BG_RETURN_IF_ERROR(ReadArch(platform, Join(path, "platform"), "arch",
                                  "platform.arch", infra));
      BG_RETURN_IF_ERROR(ReadOs(platform, Join(path, "platform"), "platform.os", infra));
    }
    const YAML::Node node = spec["infrastructure"];
    if (!node) return absl::OkStatus();
    const std::string at = Join(path, "infrastructure");
    if (node.IsScalar() && ContainsHarnessExpression(node.Scalar())) {
      infra->unresolved.push_back({"infrastructure", node.Scalar()});
      return absl::OkStatus();
    }
    if (!node.IsMap()) return Error(node, at, "expected a mapping");
    if (const YAML::Node from = node["useFromStage"]) {
      BG_ASSIGN_OR_RETURN(const std::string stage, Text(node, "useFromStage", at));
      const auto it = stage_infrastructure_.find(stage);
      if (it == stage_infrastructure_.end()) {
        return Error(from, Join(at, "useFromStage"),
                     absl::StrCat("no CI stage ", QuoteInput(stage), " before this one"));
      }
      const Infrastructure& source = *it->second;
      infra->described = source.described;
      infra->context = source.context;
      infra->arch = source.arch;
      infra->arch_unknown = source.arch_unknown;
      infra->os = source.os;
      infra->unresolved = source.unresolved;
      Bind(&infra->context_node, source.context_node);
      return absl::OkStatus();
    }
    return Kubernetes(node, at, infra);
  }

  // `infrastructure` or `stepGroupInfra`: {type, spec}.
  absl::Status Kubernetes(const YAML::Node& node, const std::string& at, Infrastructure* infra) {
    BG_ASSIGN_OR_RETURN(const std::string type, Text(node, "type", at));
    if (type != "KubernetesDirect" && type != "KubernetesHosted") return absl::OkStatus();
    const YAML::Node spec = node["spec"];
    if (!spec) return absl::OkStatus();
    const std::string spec_at = Join(at, "spec");
    if (!spec.IsMap()) return Error(spec, spec_at, "expected a mapping");
    infra->described = true;
    BG_RETURN_IF_ERROR(ReadOs(spec, spec_at, "infrastructure.spec.os", infra));
    if (const YAML::Node selector = spec["nodeSelector"]; selector && selector.IsMap()) {
      for (const char* key : {"kubernetes.io/arch", "beta.kubernetes.io/arch"}) {
        if (selector[key]) {
          BG_RETURN_IF_ERROR(ReadArch(selector, Join(spec_at, "nodeSelector"), key,
                                      absl::StrCat("infrastructure.spec.nodeSelector.", key),
                                      infra));
          break;
        }
      }
    }
    const YAML::Node ctx = spec["containerSecurityContext"];
    BG_ASSIGN_OR_RETURN(const std::optional<int64_t> spec_uid,
                        Uid(spec, "runAsUser", spec_at, "infrastructure.spec.runAsUser",
                            &infra->unresolved));
    if (!ctx || ctx.IsNull()) {
      if (spec_uid) {
        infra->context.emplace().set_run_as_user(*spec_uid);
      }
      return absl::OkStatus();
    }
    const std::string ctx_at = Join(spec_at, "containerSecurityContext");
    const std::string field = "infrastructure.containerSecurityContext";
    if (ctx.IsScalar() && ContainsHarnessExpression(ctx.Scalar())) {
      infra->unresolved.push_back({field, ctx.Scalar()});
      return absl::OkStatus();
    }
    if (!ctx.IsMap()) return Error(ctx, ctx_at, "expected a mapping");
    Bind(&infra->context_node, ctx);
    v1::ContainerSecurityContext& out = infra->context.emplace();
    std::vector<Unresolved>* unresolved = &infra->unresolved;
    BG_ASSIGN_OR_RETURN(auto non_root, Bool(ctx, "runAsNonRoot", ctx_at,
                                            field + ".runAsNonRoot", unresolved));
    if (non_root) out.set_run_as_non_root(*non_root);
    BG_ASSIGN_OR_RETURN(auto uid, Uid(ctx, "runAsUser", ctx_at, field + ".runAsUser", unresolved));
    if (!uid) uid = spec_uid;
    if (uid) out.set_run_as_user(*uid);
    BG_ASSIGN_OR_RETURN(auto privileged,
                        Bool(ctx, "privileged", ctx_at, field + ".privileged", unresolved));
    if (privileged) out.set_privileged(*privileged);
    BG_ASSIGN_OR_RETURN(auto escalation, Bool(ctx, "allowPrivilegeEscalation", ctx_at,
                                              field + ".allowPrivilegeEscalation", unresolved));
    if (escalation) out.set_allow_privilege_escalation(*escalation);
    if (const YAML::Node caps = ctx["capabilities"]; caps && caps.IsMap()) {
      for (const char* list : {"add", "drop"}) {
        const YAML::Node names = caps[list];
        if (!names) continue;
        const std::string list_at = absl::StrCat(ctx_at, ".capabilities.", list);
        if (!names.IsSequence()) return Error(names, list_at, "expected a list");
        for (const YAML::Node& name : names) {
          if (!name.IsScalar()) return Error(name, list_at, "expected capability names");
          auto* target = std::string(list) == "add" ? out.mutable_capabilities()->mutable_add()
                                                   : out.mutable_capabilities()->mutable_drop();
          target->Add(std::string(name.Scalar()));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status ReadArch(const YAML::Node& map, const std::string& path, const char* key,
                        const std::string& field, Infrastructure* infra) {
    BG_ASSIGN_OR_RETURN(const std::string text, Text(map, key, path));
    if (text.empty()) return absl::OkStatus();
    if (ContainsHarnessExpression(text)) {
      infra->unresolved.push_back({field, text, UnknownValue::kArch});
      infra->arch_unknown = true;
      return absl::OkStatus();
    }
    const std::string lower = absl::AsciiStrToLower(text);
    if (lower == "amd64" || lower == "x86_64") {
      infra->arch = v1::ARCH_AMD64;
    } else if (lower == "arm64" || lower == "aarch64") {
      infra->arch = v1::ARCH_ARM64;
    } else {
      return Error(map[key], Join(path, key),
                   absl::StrCat("unknown architecture ", QuoteInput(text), " (Amd64 or Arm64)"));
    }
    return absl::OkStatus();
  }

  // `os` (Linux, Windows, MacOS): anything but Linux is kept as written.
  absl::Status ReadOs(const YAML::Node& map, const std::string& path, const std::string& field,
                      Infrastructure* infra) {
    BG_ASSIGN_OR_RETURN(const std::string text, Text(map, "os", path));
    if (text.empty() || absl::AsciiStrToLower(text) == "linux") return absl::OkStatus();
    if (ContainsHarnessExpression(text)) {
      infra->unresolved.push_back({field, text});
    } else {
      infra->os = text;
    }
    return absl::OkStatus();
  }

  // `variables: [{name, type, value}]`, later levels overriding earlier ones.
  absl::Status ReadVariables(const YAML::Node& owner, const std::string& path,
                             absl::string_view level, Variables* out) {
    const YAML::Node vars = owner["variables"];
    if (!vars || vars.IsNull()) return absl::OkStatus();
    const std::string at = Join(path, "variables");
    if (!vars.IsSequence()) return Error(vars, at, "expected a list of {name, type, value}");
    for (std::size_t i = 0; i < vars.size(); ++i) {
      const YAML::Node var = vars[i];
      const std::string var_at = absl::StrCat(at, "[", i, "]");
      if (!var.IsMap()) return Error(var, var_at, "expected {name, type, value}");
      BG_ASSIGN_OR_RETURN(const std::string name, Text(var, "name", var_at));
      BG_ASSIGN_OR_RETURN(const std::string type, Text(var, "type", var_at));
      if (type == "Secret") continue;  // Never read or echoed.
      BG_ASSIGN_OR_RETURN(const std::string value, Text(var, "value", var_at));
      (*out)[name] = Variable{value, absl::StrCat(level, ".variables.", name)};
    }
    return absl::OkStatus();
  }

  absl::Status Template(const YAML::Node& item, const std::string& path, absl::string_view level,
                        const std::string& id, const std::string& stage_id) {
    const YAML::Node body = level == "pipeline" ? item : item[std::string(level)];
    const YAML::Node tmpl = body["template"];
    std::string ref;
    if (tmpl.IsMap()) {
      BG_ASSIGN_OR_RETURN(ref, Text(tmpl, "templateRef", Join(path, "template")));
      BG_ASSIGN_OR_RETURN(const std::string version,
                          Text(tmpl, "versionLabel", Join(path, "template")));
      if (!version.empty()) absl::StrAppend(&ref, "@", version);
    }
    out_->templates.push_back(
        TemplateReference{At(item, path), std::string(level), id, ref, stage_id});
    return absl::OkStatus();
  }

  // ----- Steps --------------------------------------------------------------

  absl::Status StepList(const YAML::Node& steps, const std::string& path, const Scope& scope,
                        std::vector<StepVisit>* out) {
    if (steps.IsScalar() && ContainsHarnessExpression(steps.Scalar())) {
      return Error(steps, path, "the steps are a runtime input; nothing can be decided");
    }
    if (!steps.IsSequence()) return Error(steps, path, "expected a list of steps");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      BG_RETURN_IF_ERROR(StepItem(steps[i], absl::StrCat(path, "[", i, "]"), scope, out));
    }
    return absl::OkStatus();
  }

  // A `steps[]` item: `step:`, `stepGroup:` or `parallel:`.
  absl::Status StepItem(const YAML::Node& item, const std::string& path, const Scope& scope,
                        std::vector<StepVisit>* out) {
    if (!item.IsMap()) return Error(item, path, "expected `step:`, `stepGroup:` or `parallel:`");
    if (const YAML::Node step = item["step"]) {
      const std::string at = Join(path, "step");
      if (!step.IsMap()) return Error(step, at, "expected a mapping");
      ++out_->steps_seen;
      BG_ASSIGN_OR_RETURN(const std::string id, Text(step, "identifier", at));
      if (step["template"]) return Template(item, at, "step", id, scope.stage_id);
      out->push_back(StepVisit{item, step, at, scope});
      return absl::OkStatus();
    }
    if (const YAML::Node parallel = item["parallel"]) {
      return StepList(parallel, Join(path, "parallel"), scope, out);
    }
    if (const YAML::Node group = item["stepGroup"]) {
      const std::string at = Join(path, "stepGroup");
      if (!group.IsMap()) return Error(group, at, "expected a mapping");
      BG_ASSIGN_OR_RETURN(const std::string id, Text(group, "identifier", at));
      if (group["template"]) return Template(item, at, "stepGroup", id, scope.stage_id);
      Scope inner = scope;
      BG_RETURN_IF_ERROR(ReadVariables(group, at, "stepGroup", &inner.variables));
      if (HasMatrix(group)) inner.matrix_scopes.push_back(absl::StrCat("stepGroup ", id));
      if (const YAML::Node infra = group["stepGroupInfra"]) {
        auto own = std::make_unique<Infrastructure>();
        const std::string infra_at = Join(at, "stepGroupInfra");
        if (!infra.IsMap()) return Error(infra, infra_at, "expected a mapping");
        BG_RETURN_IF_ERROR(Kubernetes(infra, infra_at, own.get()));
        inner.infrastructure = own.get();
        infrastructures_.push_back(std::move(own));
      }
      const YAML::Node steps = group["steps"];
      if (!steps) return Error(group, at, "`steps` is missing");
      return StepList(steps, Join(at, "steps"), inner, out);
    }
    // Harness's steps[] items hold `step`, `stepGroup` or `parallel` and
    // nothing else: an item buildgate cannot read may hide a build.
    return Error(item, path, "expected `step:`, `stepGroup:` or `parallel:`");
  }

  // Remembers a docker:dind Background step (or service dependency) of the stage.
  void NoteDind(const YAML::Node& step, bool background) {
    if (!step.IsMap()) return;
    const YAML::Node type = step["type"];
    if (background && !(type && type.IsScalar() && type.Scalar() == "Background")) return;
    const YAML::Node spec = step["spec"];
    if (!spec || !spec.IsMap()) return;
    const YAML::Node image = spec["image"];
    if (!image || !image.IsScalar() || !IsDindImage(image.Scalar())) return;
    const YAML::Node id = step["identifier"];
    dind_step_id_ = id && id.IsScalar() ? id.Scalar() : "dind";
    const YAML::Node privileged = spec["privileged"];
    dind_privileged_ = privileged && privileged.IsScalar() &&
                       absl::AsciiStrToLower(privileged.Scalar()) == "true";
  }

  static bool IsDindImage(absl::string_view image) {
    absl::string_view name = image;
    for (absl::string_view prefix : {"docker.io/library/", "docker.io/", "library/"}) {
      if (absl::ConsumePrefix(&name, prefix)) break;
    }
    return absl::StartsWith(name, "docker:") && absl::StrContains(name, "dind");
  }

  // Every step of one stage (or fragment), once the stage is walked.
  absl::Status Steps(const std::vector<StepVisit>& visits,
                     const YAML::Node& services = YAML::Node()) {
    dind_step_id_.clear();
    dind_privileged_ = false;
    if (services && services.IsSequence()) {
      for (const YAML::Node& service : services) NoteDind(service, /*background=*/false);
    }
    for (const StepVisit& v : visits) NoteDind(v.step, /*background=*/true);
    for (const StepVisit& v : visits) BG_RETURN_IF_ERROR(Step(v));
    return absl::OkStatus();
  }

  absl::Status Step(const StepVisit& v) {
    const YAML::Node& step = v.step;
    BG_ASSIGN_OR_RETURN(const std::string type, Text(step, "type", v.path));
    FoundBuild build;
    if (absl::StartsWith(type, "BuildAndPush")) {
      build.kind = BuildKind::kBuildAndPush;
    } else if (type == "Plugin") {
      build.kind = BuildKind::kPlugin;
    } else if (type == "Run") {
      build.kind = BuildKind::kRunCommand;
    } else if (ContainsHarnessExpression(type)) {
      build.kind = BuildKind::kUnknownType;
      build.unresolved.push_back({"type", type, UnknownValue::kStepType});
    } else {
      return absl::OkStatus();  // Not a build.
    }
    const YAML::Node spec = step["spec"];
    const std::string spec_at = Join(v.path, "spec");
    if (build.kind != BuildKind::kUnknownType && (!spec || !spec.IsMap())) {
      return Error(step, v.path, "`spec` is missing");
    }
    build.location = At(v.item, v.path);
    build.harness_type = type;
    build.stage_id = v.scope.stage_id;
    BG_ASSIGN_OR_RETURN(build.step_id, Text(step, "identifier", v.path));
    BG_ASSIGN_OR_RETURN(build.step_name, Text(step, "name", v.path));
    build.matrix_scopes = v.scope.matrix_scopes;
    if (HasMatrix(step)) build.matrix_scopes.push_back("step");
    Bind(&build.nodes.step, step);
    Bind(&build.nodes.stage_variables, v.scope.stage_variables);
    Bind(&build.nodes.stage, v.scope.stage);

    if (build.kind == BuildKind::kRunCommand) {
      BG_ASSIGN_OR_RETURN(const std::string command, Text(spec, "command", spec_at));
      BG_ASSIGN_OR_RETURN(build.run_image, Text(spec, "image", spec_at));
      std::string repo;
      build.build_command = BuildCommand(command, &repo);
      // A Run step whose command builds nothing and that names no image (it
      // runs on the host or the stage's default image) builds nothing; with
      // an image, lint judges whether the image is an image builder.
      if (build.build_command.empty() && build.run_image.empty()) return absl::OkStatus();
      if (absl::StartsWith(build.build_command, "docker")) {
        build.dind_step_id = dind_step_id_;
        build.dind_privileged = dind_privileged_;
      }
      // What a governed replacement would push: the command's image, else unknown.
      build.proposal.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY);
      build.proposal.set_repo(repo.empty() ? "<+input>" : repo);
    } else if (build.kind == BuildKind::kPlugin) {
      BG_RETURN_IF_ERROR(PluginSpec(spec, spec_at, &build));
    } else if (build.kind == BuildKind::kUnknownType) {
      // Nothing to read: lint reports it as undecidable.
    } else {
      BG_RETURN_IF_ERROR(BuildAndPushSpec(type, step, spec, spec_at, &build));
    }
    v1::BuildStep& p = build.proposal;
    // The org is the policy's to name (the caller picks the policy set);
    // project and pipeline pick the scope within it.
    p.set_project_id(project_id_);
    p.set_pipeline_id(pipeline_id_);
    p.set_stage_id(EngineId(build.stage_id, "stage.identifier", &build.invalid_identifiers));
    p.set_step_id(EngineId(build.step_id, "identifier", &build.invalid_identifiers));
    if (!build.step_name.empty() && !ContainsHarnessExpression(build.step_name)) {
      p.set_name(build.step_name);
    }
    if (build.kind == BuildKind::kPlugin || build.kind == BuildKind::kBuildAndPush) {
      ApplyInfrastructure(v.scope, &build);
    }
    ApplyDryRunVariable(v.scope.variables, &build);
    out_->builds.push_back(std::move(build));
    return absl::OkStatus();
  }

  void ApplyInfrastructure(const Scope& scope, FoundBuild* build) {
    if (scope.infrastructure == nullptr) return;
    const Infrastructure& infra = *scope.infrastructure;
    for (const Unresolved& u : infra.unresolved) build->unresolved.push_back(u);
    if (infra.context) {
      *build->proposal.mutable_infrastructure()->mutable_container_security_context() =
          *infra.context;
    }
    if (infra.arch != v1::ARCH_UNSPECIFIED) build->proposal.set_arch(infra.arch);
    build->os = infra.os;
    Bind(&build->nodes.security_context, infra.context_node);
  }

  // PLUGIN_DRY_RUN from pipeline, stage or step group variables, unless the
  // step sets it itself.
  static void ApplyDryRunVariable(const Variables& variables, FoundBuild* build) {
    if (build->kind == BuildKind::kRunCommand || build->kind == BuildKind::kUnknownType) return;
    for (const Unresolved& u : build->unresolved) {
      if (u.kind == UnknownValue::kDryRun) return;
    }
    if (build->proposal.dry_run()) return;
    const auto it = variables.find("PLUGIN_DRY_RUN");
    if (it == variables.end()) return;
    SetDryRun(it->second.value, it->second.field, build);
  }

  static void SetDryRun(const std::string& value, const std::string& field, FoundBuild* build) {
    if (ContainsHarnessExpression(value)) {
      build->unresolved.push_back({field, value, UnknownValue::kDryRun});
    } else {
      build->proposal.set_dry_run(absl::AsciiStrToLower(value) == "true");
      build->dry_run_source = field;
    }
  }

  absl::Status Tags(const YAML::Node& node, const std::string& at, v1::BuildStep* p) const {
    if (!node || node.IsNull()) return absl::OkStatus();
    if (node.IsScalar()) {
      // A plugin's `tags: a,b` is a comma-separated list; an expression stays whole.
      const std::string& text = node.Scalar();
      if (ContainsHarnessExpression(text)) {
        p->add_tags(text);
      } else {
        for (absl::string_view tag : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
          p->add_tags(std::string(absl::StripAsciiWhitespace(tag)));
        }
      }
      return absl::OkStatus();
    }
    if (!node.IsSequence()) return Error(node, at, "expected a list of tags");
    for (const YAML::Node& tag : node) {
      if (!tag.IsScalar()) return Error(tag, at, "expected a tag");
      p->add_tags(tag.Scalar());
    }
    return absl::OkStatus();
  }

  absl::Status CommonStepFields(const YAML::Node& spec, const std::string& at, FoundBuild* b) {
    v1::BuildStep& p = b->proposal;
    BG_ASSIGN_OR_RETURN(const std::string connector, Text(spec, "connectorRef", at));
    p.set_connector_ref(connector);
    BG_ASSIGN_OR_RETURN(auto uid, Uid(spec, "runAsUser", at, "spec.runAsUser", &b->unresolved));
    if (uid) p.set_run_as_user(*uid);
    // `envVariables` (PLUGIN_DRY_RUN).
    if (const YAML::Node env = spec["envVariables"]; env && env.IsMap()) {
      if (const YAML::Node dry = env["PLUGIN_DRY_RUN"]; dry && dry.IsScalar()) {
        SetDryRun(dry.Scalar(), "spec.envVariables.PLUGIN_DRY_RUN", b);
      }
    }
    return absl::OkStatus();
  }

  absl::Status PluginSpec(const YAML::Node& spec, const std::string& at, FoundBuild* b) {
    v1::BuildStep& p = b->proposal;
    p.set_kind(v1::STEP_KIND_PLUGIN);
    BG_ASSIGN_OR_RETURN(const std::string image, Text(spec, "image", at));
    if (image.empty()) return Error(spec, at, "a Plugin step needs an `image`");
    if (IsHarnessExpression(image)) {
      b->unresolved.push_back({"spec.image", image});
    }
    p.set_image(image);
    BG_ASSIGN_OR_RETURN(auto privileged,
                        Bool(spec, "privileged", at, "spec.privileged", &b->unresolved));
    if (privileged) p.set_privileged(*privileged);
    BG_RETURN_IF_ERROR(CommonStepFields(spec, at, b));
    const YAML::Node settings = spec["settings"];
    if (!settings || settings.IsNull()) return absl::OkStatus();
    const std::string settings_at = Join(at, "settings");
    if (!settings.IsMap()) return Error(settings, settings_at, "expected a mapping");
    for (const auto& [key, field] :
         {std::pair<const char*, std::string*>{"repo", p.mutable_repo()},
          {"registry", p.mutable_registry()},
          {"dockerfile", p.mutable_dockerfile()},
          {"context", p.mutable_context()},
          {"username", p.mutable_credentials()->mutable_username()},
          {"password", p.mutable_credentials()->mutable_password()}}) {
      BG_ASSIGN_OR_RETURN(*field, Text(settings, key, settings_at));
    }
    // The secret is never kept: what is printed from the proposal cannot show it.
    RedactPlaintextSecrets(&p);
    BG_RETURN_IF_ERROR(Tags(settings["tags"], Join(settings_at, "tags"), &p));
    if (settings["tag"] && p.tags().empty()) {
      BG_RETURN_IF_ERROR(Tags(settings["tag"], Join(settings_at, "tag"), &p));
    }
    BG_ASSIGN_OR_RETURN(const std::string dry_run, Text(settings, "dry_run", settings_at));
    if (!dry_run.empty()) SetDryRun(dry_run, "spec.settings.dry_run", b);
    return absl::OkStatus();
  }

  absl::Status BuildAndPushSpec(const std::string& type, const YAML::Node& step,
                                const YAML::Node& spec, const std::string& at, FoundBuild* b) {
    v1::BuildStep& p = b->proposal;
    auto required = [&](const char* key) -> absl::StatusOr<std::string> {
      BG_ASSIGN_OR_RETURN(std::string value, Text(spec, key, at));
      if (value.empty()) {
        return Error(spec, Join(at, key), absl::StrCat("required for ", type));
      }
      return value;
    };
    if (type == "BuildAndPushDockerRegistry") {
      p.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY);
      BG_ASSIGN_OR_RETURN(*p.mutable_repo(), required("repo"));
    } else if (type == "BuildAndPushECR") {
      p.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_ECR);
      BG_ASSIGN_OR_RETURN(const std::string account, required("account"));
      BG_ASSIGN_OR_RETURN(const std::string region, required("region"));
      p.set_registry(absl::StrCat(account, ".dkr.ecr.", region, ".amazonaws.com"));
      BG_ASSIGN_OR_RETURN(*p.mutable_repo(), required("imageName"));
    } else if (type == "BuildAndPushGCR" || type == "BuildAndPushGAR") {
      p.set_kind(type == "BuildAndPushGCR" ? v1::STEP_KIND_BUILD_AND_PUSH_GCR
                                           : v1::STEP_KIND_BUILD_AND_PUSH_GAR);
      BG_ASSIGN_OR_RETURN(*p.mutable_registry(), required("host"));
      BG_ASSIGN_OR_RETURN(const std::string project, required("projectID"));
      BG_ASSIGN_OR_RETURN(const std::string image, required("imageName"));
      p.set_repo(absl::StrCat(project, "/", image));
    } else if (type == "BuildAndPushACR") {
      p.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_ACR);
      BG_ASSIGN_OR_RETURN(const std::string repository, required("repository"));
      // "<name>.azurecr.io/<image>": the host is the part before the first
      // '/' outside expressions; a repository that is one expression is
      // both (unknown).
      const std::string masked = MaskExpressions(repository, 'x');
      const std::size_t slash = masked.find('/');
      if (slash == std::string::npos) {
        if (!ContainsHarnessExpression(repository)) {
          return Error(spec["repository"], Join(at, "repository"),
                       absl::StrCat(QuoteInput(repository),
                                    ": expected <registry>.azurecr.io/<image>"));
        }
        p.set_registry(repository);
        p.set_repo(repository);
      } else {
        p.set_registry(repository.substr(0, slash));
        p.set_repo(repository.substr(slash + 1));
      }
    } else {
      return Error(step["type"], Join(b->location.yaml_path, "type"),
                   absl::StrCat("unknown Build and Push type ", QuoteInput(type),
                                " (BuildAndPushDockerRegistry, BuildAndPushECR, BuildAndPushGCR, "
                                "BuildAndPushGAR or BuildAndPushACR)"));
    }
    BG_RETURN_IF_ERROR(Tags(spec["tags"], Join(at, "tags"), &p));
    for (const auto& [key, field] :
         {std::pair<const char*, std::string*>{"dockerfile", p.mutable_dockerfile()},
          {"context", p.mutable_context()}}) {
      BG_ASSIGN_OR_RETURN(*field, Text(spec, key, at));
    }
    BG_ASSIGN_OR_RETURN(auto caching, Bool(spec, "caching", at, "spec.caching", &b->unresolved,
                                           UnknownValue::kCaching));
    if (caching) p.set_caching(*caching);
    return CommonStepFields(spec, at, b);
  }

  // The image-building command in a Run step's script, e.g. "docker build",
  // and the image it tags (`-t`/`--tag`/`--destination`, without its tag).
  static std::string BuildCommand(const std::string& command, std::string* repo) {
    // Shell commands one by one; a comment, or a command that only prints
    // (echo, printf), builds nothing.
    for (absl::string_view segment : absl::StrSplit(command, absl::ByAnyChar("\n;&|"))) {
      const std::vector<absl::string_view> words =
          absl::StrSplit(segment, absl::ByAnyChar(" \t\r()"), absl::SkipEmpty());
      if (words.empty() || absl::StartsWith(words[0], "#") || words[0] == "echo" ||
          words[0] == "printf") {
        continue;
      }
      std::string found = BuildInWords(words, repo);
      if (!found.empty()) return found;
    }
    return std::string();
  }

  // The build command among one shell command's words, e.g. "docker build".
  static std::string BuildInWords(const std::vector<absl::string_view>& words, std::string* repo) {
    std::string found;
    for (std::size_t i = 0; i < words.size() && found.empty(); ++i) {
      const absl::string_view tool = BaseName(words[i]);
      std::size_t j = i + 1;
      while (j < words.size() && absl::StartsWith(words[j], "-")) {  // Global flags.
        const bool takes_value =
            !absl::StrContains(words[j], '=') &&
            (words[j] == "-H" || words[j] == "--host" || words[j] == "--config" ||
             words[j] == "-c" || words[j] == "--context" || words[j] == "-l" ||
             words[j] == "--log-level" || words[j] == "--tlscacert" || words[j] == "--tlscert" ||
             words[j] == "--tlskey" || words[j] == "--storage-driver" || words[j] == "--root");
        j += takes_value ? 2 : 1;
      }
      const absl::string_view verb = j < words.size() ? words[j] : absl::string_view();
      if ((tool == "docker" || tool == "podman") && (verb == "build" || verb == "buildx")) {
        found = absl::StrCat(tool, verb == "buildx" ? " buildx build" : " build");
      } else if (tool == "docker" && verb == "image" && j + 1 < words.size() &&
                 words[j + 1] == "build") {
        found = "docker image build";
      } else if (tool == "buildah" && (verb == "bud" || verb == "build")) {
        found = absl::StrCat("buildah ", verb);
      } else if (tool == "executor" && absl::StrContains(words[i], "kaniko")) {
        found = "kaniko executor";
      }
      if (found.empty()) continue;
      for (std::size_t k = i + 1; k + 1 < words.size(); ++k) {
        if (words[k] == "-t" || words[k] == "--tag" || words[k] == "--destination" ||
            words[k] == "-d") {
          *repo = CommandImageName(words[k + 1]);
          break;
        }
        for (absl::string_view flag : {"--tag=", "--destination="}) {
          if (absl::StartsWith(words[k], flag)) *repo = CommandImageName(words[k].substr(flag.size()));
        }
        if (!repo->empty()) break;
      }
    }
    return found;
  }

  static absl::string_view BaseName(absl::string_view word) {
    const std::size_t slash = word.rfind('/');
    return slash == absl::string_view::npos ? word : word.substr(slash + 1);
  }

  // "registry/acme/app:1.2" → "registry/acme/app"; quotes dropped; a shell
  // variable makes it unknown ("").
  static std::string CommandImageName(absl::string_view word) {
    absl::ConsumePrefix(&word, "\"");
    absl::ConsumeSuffix(&word, "\"");
    absl::ConsumePrefix(&word, "'");
    absl::ConsumeSuffix(&word, "'");
    if (absl::StrContains(word, '$') && !ContainsHarnessExpression(word)) return std::string();
    return std::string(ImageNameOf(word));
  }

  std::string file_;
  PipelineDocument* out_;
  std::string project_id_, pipeline_id_;
  Variables pipeline_variables_;
  std::map<std::string, const Infrastructure*, std::less<>> stage_infrastructure_;
  std::vector<std::unique_ptr<Infrastructure>> infrastructures_;
  std::string dind_step_id_;
  bool dind_privileged_ = false;
};

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

absl::StatusOr<PipelineDocument> ReadHarnessPipeline(absl::string_view text,
                                                     absl::string_view file,
                                                     const InputLimits& limits) {
  BG_ASSIGN_OR_RETURN(const YAML::Node root, LoadBoundedYaml(text, file, limits));
  PipelineDocument doc;
  Reader reader(file, &doc);
  try {
    BG_RETURN_IF_ERROR(reader.Root(root));
  } catch (const YAML::Exception& e) {
    // Node access on a malformed shape; never a partial document.
    return LocatedError(file, e.mark.line + 1, e.mark.column + 1, "", e.msg);
  }
  return doc;
}

}  // namespace buildgate::pipeline
