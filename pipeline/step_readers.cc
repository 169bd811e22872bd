#include "pipeline/internal/step_readers.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "grammar/expression.h"
#include "input/limits.h"
#include "engine/render.h"
#include "pipeline/internal/build_recognition.h"
#include "pipeline/internal/edit_point_reader.h"

namespace buildgate::pipeline::internal {
namespace {

// PLUGIN_DRY_RUN (or settings.dry_run) set to `value` at `field`.
void SetDryRun(const std::string& value, const std::string& field, FoundBuild* build) {
  if (ContainsHarnessExpression(value)) {
    build->unresolved.push_back({field, value, UnknownValue::kDryRun});
  } else {
    build->build_step.set_dry_run(absl::AsciiStrToLower(value) == "true");
    build->dry_run_source = field;
  }
}

// PLUGIN_DRY_RUN from pipeline, stage or step group variables, unless the
// step sets it itself.
void ApplyDryRunVariable(const Variables& variables, FoundBuild* build) {
  if (build->kind == BuildKind::kRunCommand || build->kind == BuildKind::kUnknownType) return;
  for (const Unresolved& u : build->unresolved) {
    if (u.kind == UnknownValue::kDryRun) return;
  }
  if (build->build_step.dry_run()) return;
  const auto it = variables.find("PLUGIN_DRY_RUN");
  if (it == variables.end()) return;
  SetDryRun(it->second.value, it->second.field, build);
}

}  // namespace

std::optional<DockerDaemon> ReadDockerDaemon(const YAML::Node& step, bool background) {
  if (!step.IsMap()) return std::nullopt;
  const YAML::Node type = step["type"];
  if (background && !(type && type.IsScalar() && type.Scalar() == "Background")) {
    return std::nullopt;
  }
  const YAML::Node spec = step["spec"];
  if (!spec || !spec.IsMap()) return std::nullopt;
  const YAML::Node image = spec["image"];
  if (!image || !image.IsScalar() || !IsDockerInDockerImage(image.Scalar())) return std::nullopt;
  DockerDaemon daemon;
  const YAML::Node id = step["identifier"];
  daemon.step_id = id && id.IsScalar() ? id.Scalar() : "dind";
  const YAML::Node privileged = spec["privileged"];
  daemon.privileged =
      privileged && privileged.IsScalar() && absl::AsciiStrToLower(privileged.Scalar()) == "true";
  return daemon;
}

namespace {

// The combinations a build runs with when every matrix over it is written
// out: its stage's and its own (a step group's matrix is not read here, so
// under one the build is decided once, <+matrix.*> unknown).
void ExpandMatrices(const StepContext& context, const YAML::Node& step, FoundBuild* build) {
  if (build->matrix_scopes.empty()) return;
  std::vector<LiteralMatrix> matrices;
  for (const YAML::Node& node : {context.stage, step}) {
    if (!node || !HasMatrix(node)) continue;
    std::optional<LiteralMatrix> matrix = ReadLiteralMatrix(node);
    if (!matrix) return;
    matrices.push_back(*std::move(matrix));
  }
  // Every scope read: a step group's matrix would be one more scope.
  if (matrices.size() != build->matrix_scopes.size()) return;
  auto combinations = MatrixCombinations(matrices, kMaxMatrixCombinations);
  if (!combinations) {
    build->matrix_over_bound = true;
    return;
  }
  build->matrix_combinations = *std::move(combinations);
}

}  // namespace

absl::StatusOr<std::optional<FoundBuild>> StepReader::Read(const StepVisit& visit,
                                                           const DockerDaemon& daemon) const {
  const YAML::Node& step = visit.step;
  const StepContext& context = visit.context;
  BG_ASSIGN_OR_RETURN(const std::string type, fields_.Text(step, "type", visit.path));
  const std::optional<BuildKind> kind = BuildKindOfStepType(type);
  if (!kind) return std::optional<FoundBuild>();  // Not a build.
  FoundBuild build;
  build.kind = *kind;
  if (build.kind == BuildKind::kUnknownType) {
    build.unresolved.push_back({"type", type, UnknownValue::kStepType});
  }
  const YAML::Node spec = step["spec"];
  const std::string spec_path = JoinPath(visit.path, "spec");
  if (build.kind != BuildKind::kUnknownType && (!spec || !spec.IsMap())) {
    return fields_.Error(step, visit.path, "`spec` is missing");
  }
  build.location = fields_.At(visit.item, visit.path);
  build.harness_type = type;
  build.stage_id = context.stage_id;
  BG_ASSIGN_OR_RETURN(build.step_id, fields_.Text(step, "identifier", visit.path));
  BG_ASSIGN_OR_RETURN(build.step_name, fields_.Text(step, "name", visit.path));
  build.matrix_scopes = context.matrix_scopes;
  if (HasMatrix(step)) build.matrix_scopes.push_back("step");
  ExpandMatrices(context, step, &build);
  build.edit_points.step = MappingPointsOf(step);
  build.edit_points.spec = MappingPointsOf(spec, /*with_content=*/true);
  build.edit_points.stage = MappingPointsOf(context.stage);
  build.edit_points.stage_variables = VariableListPointsOf(context.stage_variables);

  switch (build.kind) {
    case BuildKind::kRunCommand: {
      BG_ASSIGN_OR_RETURN(const bool builds, ReadRunSpec(spec, spec_path, daemon, &build));
      if (!builds) return std::optional<FoundBuild>();
      break;
    }
    case BuildKind::kPlugin:
      BG_RETURN_IF_ERROR(ReadPluginSpec(spec, spec_path, &build));
      break;
    case BuildKind::kBuildAndPush:
      BG_RETURN_IF_ERROR(ReadBuildAndPushSpec(type, step, spec, spec_path, &build));
      break;
    case BuildKind::kUnknownType:
      break;  // Nothing to read: lint reports it as undecidable.
  }
  v1::BuildStep& b = build.build_step;
  // The org is the policy's to name (the caller picks the policy set);
  // project and pipeline pick the scope within it.
  b.set_project_id(context.project_id);
  b.set_pipeline_id(context.pipeline_id);
  b.set_stage_id(EngineIdentifier(build.stage_id, "stage.identifier", &build.invalid_identifiers));
  b.set_step_id(EngineIdentifier(build.step_id, "identifier", &build.invalid_identifiers));
  if (!build.step_name.empty() && !ContainsHarnessExpression(build.step_name)) {
    b.set_name(build.step_name);
  }
  if (build.kind != BuildKind::kUnknownType && context.infrastructure != nullptr) {
    ApplyInfrastructure(*context.infrastructure, &build);
  }
  ApplyDryRunVariable(context.variables, &build);
  return std::optional<FoundBuild>(std::move(build));
}

absl::StatusOr<bool> StepReader::ReadRunSpec(const YAML::Node& spec, const std::string& spec_path,
                                             const DockerDaemon& daemon, FoundBuild* build) const {
  BG_ASSIGN_OR_RETURN(const std::string script, fields_.Text(spec, "command", spec_path));
  BG_ASSIGN_OR_RETURN(build->run_image, fields_.Text(spec, "image", spec_path));
  const ScriptBuild found = FindScriptBuild(script);
  if (!IsRunStepBuild(found, build->run_image)) return false;
  build->build_command = found.command;
  if (NeedsDockerDaemon(found.command)) {
    build->dind_step_id = daemon.step_id;
    build->dind_privileged = daemon.privileged;
  }
  // What a governed replacement would push: the script's image, ko's
  // KO_DOCKER_REPO (the step's envVariables), else unknown.
  std::string image = found.image;
  if (image.empty() && absl::StartsWith(found.command, "ko ")) {
    if (const YAML::Node env = spec["envVariables"]; env && env.IsMap()) {
      if (const YAML::Node repo = env["KO_DOCKER_REPO"]; repo && repo.IsScalar()) {
        image = repo.Scalar();
      }
    }
  }
  build->build_step.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY);
  build->build_step.set_repo(image.empty() ? "<+input>" : image);
  return true;
}

absl::Status StepReader::ReadTags(const YAML::Node& node, const std::string& path,
                                  v1::BuildStep* build_step) const {
  if (!node || node.IsNull()) return absl::OkStatus();
  if (node.IsScalar()) {
    // A plugin's `tags: a,b` is a comma-separated list; an expression stays whole.
    const std::string& text = node.Scalar();
    if (ContainsHarnessExpression(text)) {
      build_step->add_tags(text);
    } else {
      for (absl::string_view tag : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
        build_step->add_tags(std::string(absl::StripAsciiWhitespace(tag)));
      }
    }
    return absl::OkStatus();
  }
  if (!node.IsSequence()) return fields_.Error(node, path, "expected a list of tags");
  for (const YAML::Node& tag : node) {
    if (!tag.IsScalar()) return fields_.Error(tag, path, "expected a tag");
    build_step->add_tags(tag.Scalar());
  }
  return absl::OkStatus();
}

absl::Status StepReader::ReadCommonSpecFields(const YAML::Node& spec, const std::string& at,
                                              FoundBuild* build) const {
  v1::BuildStep& b = build->build_step;
  BG_ASSIGN_OR_RETURN(const std::string connector, fields_.Text(spec, "connectorRef", at));
  b.set_connector_ref(connector);
  BG_ASSIGN_OR_RETURN(auto uid,
                      fields_.Uid(spec, "runAsUser", at, "spec.runAsUser", &build->unresolved));
  if (uid) b.set_run_as_user(*uid);
  if (const YAML::Node env = spec["envVariables"]; env && env.IsMap()) {
    if (const YAML::Node dry = env["PLUGIN_DRY_RUN"]; dry && dry.IsScalar()) {
      SetDryRun(dry.Scalar(), "spec.envVariables.PLUGIN_DRY_RUN", build);
    }
  }
  return absl::OkStatus();
}

absl::Status StepReader::ReadPluginSpec(const YAML::Node& spec, const std::string& at,
                                        FoundBuild* build) const {
  v1::BuildStep& b = build->build_step;
  b.set_kind(v1::STEP_KIND_PLUGIN);
  BG_ASSIGN_OR_RETURN(const std::string image, fields_.Text(spec, "image", at));
  if (image.empty()) return fields_.Error(spec, at, "a Plugin step needs an `image`");
  if (IsHarnessExpression(image)) build->unresolved.push_back({"spec.image", image});
  b.set_image(image);
  BG_ASSIGN_OR_RETURN(auto privileged,
                      fields_.Bool(spec, "privileged", at, "spec.privileged", &build->unresolved));
  if (privileged) b.set_privileged(*privileged);
  BG_RETURN_IF_ERROR(ReadCommonSpecFields(spec, at, build));
  const YAML::Node settings = spec["settings"];
  if (!settings || settings.IsNull()) return absl::OkStatus();
  const std::string settings_at = JoinPath(at, "settings");
  if (!settings.IsMap()) return fields_.Error(settings, settings_at, "expected a mapping");
  for (const auto& [key, field] : {std::pair<const char*, std::string*>{"repo", b.mutable_repo()},
                                   {"registry", b.mutable_registry()},
                                   {"dockerfile", b.mutable_dockerfile()},
                                   {"context", b.mutable_context()},
                                   {"username", b.mutable_credentials()->mutable_username()},
                                   {"password", b.mutable_credentials()->mutable_password()}}) {
    BG_ASSIGN_OR_RETURN(*field, fields_.Text(settings, key, settings_at));
  }
  // The secret is never kept: what is printed from the build step cannot show it.
  RedactPlaintextSecrets(&b);
  BG_RETURN_IF_ERROR(ReadTags(settings["tags"], JoinPath(settings_at, "tags"), &b));
  if (settings["tag"] && b.tags().empty()) {
    BG_RETURN_IF_ERROR(ReadTags(settings["tag"], JoinPath(settings_at, "tag"), &b));
  }
  BG_ASSIGN_OR_RETURN(const std::string dry_run, fields_.Text(settings, "dry_run", settings_at));
  if (!dry_run.empty()) SetDryRun(dry_run, "spec.settings.dry_run", build);
  return absl::OkStatus();
}

absl::Status StepReader::ReadBuildAndPushSpec(const std::string& type, const YAML::Node& step,
                                              const YAML::Node& spec, const std::string& at,
                                              FoundBuild* build) const {
  v1::BuildStep& b = build->build_step;
  auto required = [&](const char* key) -> absl::StatusOr<std::string> {
    BG_ASSIGN_OR_RETURN(std::string value, fields_.Text(spec, key, at));
    if (value.empty()) {
      return fields_.Error(spec, JoinPath(at, key), absl::StrCat("required for ", type));
    }
    return value;
  };
  if (type == "BuildAndPushDockerRegistry") {
    b.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY);
    BG_ASSIGN_OR_RETURN(*b.mutable_repo(), required("repo"));
  } else if (type == "BuildAndPushECR") {
    b.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_ECR);
    BG_ASSIGN_OR_RETURN(const std::string account, required("account"));
    BG_ASSIGN_OR_RETURN(const std::string region, required("region"));
    b.set_registry(absl::StrCat(account, ".dkr.ecr.", region, ".amazonaws.com"));
    BG_ASSIGN_OR_RETURN(*b.mutable_repo(), required("imageName"));
  } else if (type == "BuildAndPushGCR" || type == "BuildAndPushGAR") {
    b.set_kind(type == "BuildAndPushGCR" ? v1::STEP_KIND_BUILD_AND_PUSH_GCR
                                         : v1::STEP_KIND_BUILD_AND_PUSH_GAR);
    BG_ASSIGN_OR_RETURN(*b.mutable_registry(), required("host"));
    BG_ASSIGN_OR_RETURN(const std::string project, required("projectID"));
    BG_ASSIGN_OR_RETURN(const std::string image, required("imageName"));
    b.set_repo(absl::StrCat(project, "/", image));
  } else if (type == "BuildAndPushACR") {
    b.set_kind(v1::STEP_KIND_BUILD_AND_PUSH_ACR);
    BG_ASSIGN_OR_RETURN(const std::string repository, required("repository"));
    // "<name>.azurecr.io/<image>": the host is the part before the first
    // '/' outside expressions; a repository that is one expression is
    // both (unknown).
    const std::string masked = MaskExpressions(repository, 'x');
    const std::size_t slash = masked.find('/');
    if (slash == std::string::npos) {
      if (!ContainsHarnessExpression(repository)) {
        return fields_.Error(
            spec["repository"], JoinPath(at, "repository"),
            absl::StrCat(QuoteInput(repository), ": expected <registry>.azurecr.io/<image>"));
      }
      b.set_registry(repository);
      b.set_repo(repository);
    } else {
      b.set_registry(repository.substr(0, slash));
      b.set_repo(repository.substr(slash + 1));
    }
  } else {
    return fields_.Error(step["type"], JoinPath(build->location.yaml_path, "type"),
                         absl::StrCat("unknown Build and Push type ", QuoteInput(type),
                                      " (BuildAndPushDockerRegistry, BuildAndPushECR, "
                                      "BuildAndPushGCR, BuildAndPushGAR or BuildAndPushACR)"));
  }
  BG_RETURN_IF_ERROR(ReadTags(spec["tags"], JoinPath(at, "tags"), &b));
  for (const auto& [key, field] :
       {std::pair<const char*, std::string*>{"dockerfile", b.mutable_dockerfile()},
        {"context", b.mutable_context()}}) {
    BG_ASSIGN_OR_RETURN(*field, fields_.Text(spec, key, at));
  }
  BG_ASSIGN_OR_RETURN(auto caching, fields_.Bool(spec, "caching", at, "spec.caching",
                                                 &build->unresolved, UnknownValue::kCaching));
  if (caching) b.set_caching(*caching);
  return ReadCommonSpecFields(spec, at, build);
}

}  // namespace buildgate::pipeline::internal
