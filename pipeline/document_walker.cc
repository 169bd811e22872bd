#include "pipeline/internal/document_walker.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "grammar/expression.h"
#include "pipeline/internal/build_recognition.h"

namespace buildgate::pipeline::internal {

DocumentWalker::DocumentWalker(absl::string_view file, PipelineDocument* out)
    : fields_(file), out_(out), infrastructures_(fields_), step_reader_(fields_) {}

absl::Status DocumentWalker::Walk(const YAML::Node& root) {
  if (root.IsSequence()) {
    // A list of `- stage:` or `- step:` items (the brief's fragments).
    if (root.size() == 0) {
      return fields_.Error(root, "", "an empty list is not a Harness pipeline, stage or step");
    }
    what_ = "list of stages and steps";
    std::vector<StepVisit> visits;
    const StepContext fragment;
    for (std::size_t i = 0; i < root.size(); ++i) {
      const YAML::Node item = root[i];
      const std::string path = absl::StrCat("[", i, "]");
      if (item.IsMap() && (item["stage"] || item["parallel"]) && !item["step"]) {
        BG_RETURN_IF_ERROR(StageItem(item, path));
      } else {
        BG_RETURN_IF_ERROR(StepItem(item, path, fragment, &visits));
      }
    }
    return ReadSteps(visits);
  }
  if (!root.IsMap()) {
    return fields_.Error(root, "", "expected a Harness `pipeline:`, `stage:` or `step:` document");
  }
  if (const YAML::Node version = root["version"]) {
    return fields_.Error(version, "version",
                         "the Harness v1 pipeline grammar is not supported; buildgate reads v0 "
                         "(`pipeline:` with `stages:`)");
  }
  if (const YAML::Node pipeline = root["pipeline"]) {
    what_ = "pipeline";
    return Pipeline(pipeline, "pipeline");
  }
  // Other Harness entities: no pipeline to lint (what they are is reported).
  static const std::pair<const char*, const char*> kEntities[] = {
      {"inputSet", "input set"},
      {"overlayInputSet", "overlay input set"},
      {"trigger", "trigger"},
      {"service", "service"},
      {"environment", "environment"},
      {"infrastructureDefinition", "infrastructure definition"},
      {"connector", "connector"},
      {"secret", "secret"},
      {"monitoredService", "monitored service"},
      {"overrides", "overrides"},
  };
  for (const auto& [key, kind] : kEntities) {
    if (root[key]) {
      out_->skipped = kind;
      return absl::OkStatus();
    }
  }
  if (const YAML::Node tmpl = root["template"]) return TemplateEntity(tmpl);
  if (root["stage"]) {
    what_ = "stage";
    return StageItem(root, "");
  }
  if (root["step"] || root["stepGroup"] || root["parallel"]) {
    what_ = root["step"] ? "step" : root["stepGroup"] ? "step group" : "parallel steps";
    std::vector<StepVisit> visits;
    BG_RETURN_IF_ERROR(StepItem(root, "", StepContext(), &visits));
    return ReadSteps(visits);
  }
  return fields_.Error(root, "",
                       "not a Harness pipeline: expected a `pipeline`, `stage` or `step` key (or "
                       "the governance hook's {\"pipeline\": ...})");
}

namespace {

// Step types of CI stages that build nothing (BuildKindOfStepType names the
// ones that may): a Step template of one of them is linted (no finding), a
// Step template of any other type (ShellScript, K8sRollingDeploy,
// HarnessApproval, ...) is a CD step, skipped.
bool IsOtherCiStepType(absl::string_view type) {
  static constexpr absl::string_view kTypes[] = {
      "Background",       "RunTests",       "Test",         "Action",      "Bitrise",  "GitClone",
      "RestoreCacheGCS",  "RestoreCacheS3", "SaveCacheGCS", "SaveCacheS3", "S3Upload", "GCSUpload",
      "ArtifactoryUpload"};
  for (absl::string_view t : kTypes) {
    if (t == type) return true;
  }
  return false;
}

// True for a written value other than "CI" (an expression may be CI).
bool IsOtherThanCi(absl::string_view value) {
  return !value.empty() && value != "CI" && !ContainsHarnessExpression(value);
}

}  // namespace

absl::Status DocumentWalker::TemplateEntity(const YAML::Node& tmpl) {
  const std::string path = "template";
  if (!tmpl.IsMap()) return fields_.Error(tmpl, path, "expected a mapping");
  BG_ASSIGN_OR_RETURN(const std::string type, fields_.Text(tmpl, "type", path));
  BG_ASSIGN_OR_RETURN(const std::string id, fields_.Text(tmpl, "identifier", path));
  BG_ASSIGN_OR_RETURN(const std::string version, fields_.Text(tmpl, "versionLabel", path));
  const std::string name =
      absl::StrCat(type, " template ", id, version.empty() ? "" : absl::StrCat("@", version));
  // "template (Deployment Stage)": what a skipped template is.
  auto skip = [&](absl::string_view what) {
    out_->skipped = what.empty() ? "template" : absl::StrCat("template (", what, ")");
    return absl::OkStatus();
  };
  if (type != "Step" && type != "StepGroup" && type != "Stage" && type != "Pipeline") {
    return skip(type);
  }
  const YAML::Node spec = tmpl["spec"];
  const std::string spec_path = "template.spec";
  // A template without its spec holds no step: nothing to lint.
  if (!spec || spec.IsNull()) return skip(type);
  if (!spec.IsMap()) return fields_.Error(spec, spec_path, "expected a mapping");
  from_template_ = name;
  // The template's project picks the policy scope; it has no pipeline.
  BG_ASSIGN_OR_RETURN(const std::string project, fields_.Text(tmpl, "projectIdentifier", path));
  project_id_ = EngineIdentifier(project, "template.projectIdentifier", nullptr);
  StepContext context;
  context.project_id = project_id_;
  if (type == "Step") {
    // The step's mapping is the spec itself: {type, spec, timeout, ...}.
    BG_ASSIGN_OR_RETURN(const std::string step_type, fields_.Text(spec, "type", spec_path));
    if (!BuildKindOfStepType(step_type) && !IsOtherCiStepType(step_type)) {
      return skip(absl::StrCat(step_type, step_type.empty() ? "" : " ", "Step"));
    }
    what_ = name;
    ++out_->steps_seen;
    const std::size_t first = out_->builds.size();
    BG_RETURN_IF_ERROR(ReadSteps({StepVisit{tmpl, spec, spec_path, context}}));
    for (std::size_t i = first; i < out_->builds.size(); ++i) {
      // The step's identifier and name are the template's.
      FoundBuild& build = out_->builds[i];
      build.step_id = id;
      build.build_step.set_step_id(EngineIdentifier(id, "template.identifier", nullptr));
      BG_ASSIGN_OR_RETURN(build.step_name, fields_.Text(tmpl, "name", path));
      if (!build.step_name.empty() && !ContainsHarnessExpression(build.step_name)) {
        build.build_step.set_name(build.step_name);
      }
    }
    return absl::OkStatus();
  }
  if (type == "StepGroup") {
    BG_ASSIGN_OR_RETURN(const std::string stage_type, fields_.Text(spec, "stageType", spec_path));
    if (IsOtherThanCi(stage_type)) return skip(absl::StrCat(stage_type, " StepGroup"));
    what_ = name;
    std::vector<StepVisit> visits;
    BG_RETURN_IF_ERROR(StepGroup(tmpl, spec, spec_path, context, &visits));
    return ReadSteps(visits);
  }
  if (type == "Stage") {
    BG_ASSIGN_OR_RETURN(const std::string stage_type, fields_.Text(spec, "type", spec_path));
    if (stage_type != "CI") {
      return skip(absl::StrCat(stage_type, stage_type.empty() ? "" : " ", "Stage"));
    }
    what_ = name;
    return StageBody(spec, spec_path, id);
  }
  // A Pipeline template: no pipeline identifier of its own (each pipeline
  // using it has its own).
  what_ = name;
  BG_RETURN_IF_ERROR(PipelineBody(spec, spec_path));
  if (ci_stages_ == 0 && out_->templates.empty()) {
    what_.clear();
    return skip("Pipeline of no CI stage");
  }
  return absl::OkStatus();
}

absl::Status DocumentWalker::Pipeline(const YAML::Node& pipeline, const std::string& path) {
  if (!pipeline.IsMap()) return fields_.Error(pipeline, path, "expected a mapping");
  BG_ASSIGN_OR_RETURN(const std::string id, fields_.Text(pipeline, "identifier", path));
  BG_ASSIGN_OR_RETURN(const std::string project, fields_.Text(pipeline, "projectIdentifier", path));
  pipeline_id_ = EngineIdentifier(id, "pipeline.identifier", nullptr);
  project_id_ = EngineIdentifier(project, "pipeline.projectIdentifier", nullptr);
  if (pipeline["template"]) {
    BG_RETURN_IF_ERROR(ReadVariables(fields_, pipeline, path, "pipeline", &pipeline_variables_));
    return Template(pipeline, path, "pipeline", id, "");
  }
  return PipelineBody(pipeline, path);
}

absl::Status DocumentWalker::PipelineBody(const YAML::Node& pipeline, const std::string& path) {
  if (!pipeline.IsMap()) return fields_.Error(pipeline, path, "expected a mapping");
  BG_RETURN_IF_ERROR(ReadVariables(fields_, pipeline, path, "pipeline", &pipeline_variables_));
  const YAML::Node stages = pipeline["stages"];
  if (!stages) return fields_.Error(pipeline, path, "`stages` is missing");
  if (!stages.IsSequence())
    return fields_.Error(stages, JoinPath(path, "stages"), "expected a list");
  for (std::size_t i = 0; i < stages.size(); ++i) {
    BG_RETURN_IF_ERROR(StageItem(stages[i], absl::StrCat(path, ".stages[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status DocumentWalker::StageItem(const YAML::Node& item, const std::string& path) {
  if (!item.IsMap()) return fields_.Error(item, path, "expected `stage:` or `parallel:`");
  if (const YAML::Node parallel = item["parallel"]) {
    const std::string at = JoinPath(path, "parallel");
    if (!parallel.IsSequence()) return fields_.Error(parallel, at, "expected a list");
    for (std::size_t i = 0; i < parallel.size(); ++i) {
      BG_RETURN_IF_ERROR(StageItem(parallel[i], absl::StrCat(at, "[", i, "]")));
    }
    return absl::OkStatus();
  }
  if (const YAML::Node stage = item["stage"]) return Stage(item, stage, JoinPath(path, "stage"));
  // Harness's stages[] items hold `stage` or `parallel` and nothing else:
  // an item buildgate cannot read may hide a build.
  return fields_.Error(item, path, "expected `stage:` or `parallel:`");
}

absl::Status DocumentWalker::Stage(const YAML::Node& item, const YAML::Node& stage,
                                   const std::string& path) {
  if (!stage.IsMap()) return fields_.Error(stage, path, "expected a mapping");
  BG_ASSIGN_OR_RETURN(const std::string id, fields_.Text(stage, "identifier", path));
  if (stage["template"]) return Template(item, path, "stage", id, id);
  return StageBody(stage, path, id);
}

absl::Status DocumentWalker::StageBody(const YAML::Node& stage, const std::string& path,
                                       const std::string& id) {
  BG_ASSIGN_OR_RETURN(const std::string type, fields_.Text(stage, "type", path));
  if (type != "CI") return absl::OkStatus();  // Only CI stages build images.
  ++ci_stages_;
  const YAML::Node spec = stage["spec"];
  if (!spec || !spec.IsMap())
    return fields_.Error(stage, path, "a CI stage needs a `spec` mapping");
  const std::string spec_path = JoinPath(path, "spec");

  BG_ASSIGN_OR_RETURN(const Infrastructure* infrastructure,
                      infrastructures_.ReadStage(spec, spec_path));
  StepContext context;
  context.project_id = project_id_;
  context.pipeline_id = pipeline_id_;
  context.stage_id = id;
  context.infrastructure = infrastructure;
  context.variables = pipeline_variables_;
  BG_RETURN_IF_ERROR(ReadVariables(fields_, stage, path, "stage", &context.variables));
  BindNode(&context.stage_variables, stage["variables"]);
  BindNode(&context.stage, stage);
  if (HasMatrix(stage)) context.matrix_scopes.push_back(absl::StrCat("stage ", id));
  infrastructures_.RememberStage(id, infrastructure);

  const YAML::Node execution = spec["execution"];
  if (!execution) return fields_.Error(spec, spec_path, "`execution` is missing");
  const YAML::Node steps = execution["steps"];
  if (!steps) {
    return fields_.Error(execution, JoinPath(spec_path, "execution"), "`steps` is missing");
  }
  std::vector<StepVisit> visits;
  BG_RETURN_IF_ERROR(StepList(steps, JoinPath(spec_path, "execution.steps"), context, &visits));
  return ReadSteps(visits, spec["serviceDependencies"]);
}

absl::Status DocumentWalker::StepList(const YAML::Node& steps, const std::string& path,
                                      const StepContext& context, std::vector<StepVisit>* visits) {
  if (steps.IsScalar() && ContainsHarnessExpression(steps.Scalar())) {
    return fields_.Error(steps, path, "the steps are a runtime input; nothing can be decided");
  }
  if (!steps.IsSequence()) return fields_.Error(steps, path, "expected a list of steps");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    BG_RETURN_IF_ERROR(StepItem(steps[i], absl::StrCat(path, "[", i, "]"), context, visits));
  }
  return absl::OkStatus();
}

absl::Status DocumentWalker::StepItem(const YAML::Node& item, const std::string& path,
                                      const StepContext& context, std::vector<StepVisit>* visits) {
  if (!item.IsMap()) {
    return fields_.Error(item, path, "expected `step:`, `stepGroup:` or `parallel:`");
  }
  if (const YAML::Node step = item["step"]) {
    const std::string at = JoinPath(path, "step");
    if (!step.IsMap()) return fields_.Error(step, at, "expected a mapping");
    ++out_->steps_seen;
    BG_ASSIGN_OR_RETURN(const std::string id, fields_.Text(step, "identifier", at));
    if (step["template"]) return Template(item, at, "step", id, context.stage_id);
    visits->push_back(StepVisit{item, step, at, context});
    return absl::OkStatus();
  }
  if (const YAML::Node parallel = item["parallel"]) {
    return StepList(parallel, JoinPath(path, "parallel"), context, visits);
  }
  if (const YAML::Node group = item["stepGroup"]) {
    return StepGroup(item, group, JoinPath(path, "stepGroup"), context, visits);
  }
  // Harness's steps[] items hold `step`, `stepGroup` or `parallel` and
  // nothing else: an item buildgate cannot read may hide a build.
  return fields_.Error(item, path, "expected `step:`, `stepGroup:` or `parallel:`");
}

absl::Status DocumentWalker::StepGroup(const YAML::Node& item, const YAML::Node& group,
                                       const std::string& at, const StepContext& context,
                                       std::vector<StepVisit>* visits) {
  if (!group.IsMap()) return fields_.Error(group, at, "expected a mapping");
  BG_ASSIGN_OR_RETURN(const std::string id, fields_.Text(group, "identifier", at));
  if (group["template"]) return Template(item, at, "stepGroup", id, context.stage_id);
  StepContext inner = context;
  BG_RETURN_IF_ERROR(ReadVariables(fields_, group, at, "stepGroup", &inner.variables));
  if (HasMatrix(group)) inner.matrix_scopes.push_back(absl::StrCat("stepGroup ", id));
  if (const YAML::Node infra = group["stepGroupInfra"]) {
    BG_ASSIGN_OR_RETURN(inner.infrastructure,
                        infrastructures_.ReadStepGroup(infra, JoinPath(at, "stepGroupInfra")));
  }
  const YAML::Node steps = group["steps"];
  if (!steps) return fields_.Error(group, at, "`steps` is missing");
  return StepList(steps, JoinPath(at, "steps"), inner, visits);
}

absl::Status DocumentWalker::ReadSteps(const std::vector<StepVisit>& visits,
                                       const YAML::Node& services) {
  // The stage's docker:dind service: the last service dependency or
  // Background step running one.
  DockerDaemon daemon;
  if (services && services.IsSequence()) {
    for (const YAML::Node& service : services) {
      if (auto found = ReadDockerDaemon(service, /*background=*/false)) daemon = *std::move(found);
    }
  }
  for (const StepVisit& visit : visits) {
    if (auto found = ReadDockerDaemon(visit.step, /*background=*/true)) daemon = *std::move(found);
  }
  for (const StepVisit& visit : visits) {
    BG_ASSIGN_OR_RETURN(std::optional<FoundBuild> build, step_reader_.Read(visit, daemon));
    if (!build) continue;
    for (const auto& [name, variable] : visit.context.variables) {
      build->scope_variables[name] = variable.value;
    }
    build->from_template = from_template_;
    out_->builds.push_back(*std::move(build));
  }
  return absl::OkStatus();
}

absl::Status DocumentWalker::Template(const YAML::Node& item, const std::string& path,
                                      absl::string_view level, const std::string& id,
                                      const std::string& stage_id) {
  const YAML::Node body = level == "pipeline" ? item : item[std::string(level)];
  const YAML::Node tmpl = body["template"];
  // A stage template whose inputs say it is no CI stage (Deployment,
  // Approval, Custom, ...) builds nothing buildgate governs.
  const YAML::Node inputs = tmpl.IsMap() ? tmpl["templateInputs"] : YAML::Node();
  if (level == "stage" && inputs && inputs.IsMap()) {
    const YAML::Node type = inputs["type"];
    if (type && type.IsScalar() && !ContainsHarnessExpression(type.Scalar()) &&
        type.Scalar() != "CI") {
      return absl::OkStatus();
    }
  }
  std::string ref;
  if (tmpl.IsMap()) {
    BG_ASSIGN_OR_RETURN(ref, fields_.Text(tmpl, "templateRef", JoinPath(path, "template")));
    BG_ASSIGN_OR_RETURN(const std::string version,
                        fields_.Text(tmpl, "versionLabel", JoinPath(path, "template")));
    if (!version.empty()) absl::StrAppend(&ref, "@", version);
  }
  // Located at the `template:` key, where the reference is written.
  Location at = fields_.At(item, path);
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "template") {
      const YAML::Mark mark = it->first.Mark();
      at.line = mark.line + 1;
      at.column = mark.column + 1;
      break;
    }
  }
  out_->templates.push_back(TemplateReference{std::move(at), std::string(level), id, ref, stage_id});
  return absl::OkStatus();
}

}  // namespace buildgate::pipeline::internal
