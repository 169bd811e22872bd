// Reads a Harness CI pipeline document (v0 grammar; YAML or JSON) and finds
// every step that builds an image, located in the file and turned into the
// build step (v1::BuildStep) the engine decides. Knows the pipeline,
// not the policy: it never decides anything and never talks gRPC.
//
// Accepted roots: `pipeline:` (also as the governance hook's JSON
// `{"pipeline": ...}`), a `stage:` or `step:` fragment, and a list of such
// items (the brief's `- step:` / `- stage:` examples). Stages are walked in
// `parallel` blocks too; steps in `stepGroup` (with its own
// `stepGroupInfra`), `parallel` and nested groups; `useFromStage` is
// resolved. Values holding Harness expressions are never read as false or
// 0: a decisive field that holds one is listed in `unresolved`.
//
// What may be a build (see docs/pipelines.md): the five BuildAndPush*
// types; every Plugin step (whether its image is a builder plugin is the
// policy's business, lint/ decides it); Run steps that call `docker build`,
// `buildah`, kaniko's executor or `podman build`, and Run steps that name an
// image (lint decides whether it is an image builder). Template references
// are listed separately: their steps are not in the document.
//
// A file may hold several YAML documents (`---` separated, as real
// `.harness/` folders do): each is read on its own, its locations counted
// in the whole file, and `documents` says what each one is.
//
// Templates (`template:` at the root) of type Step, StepGroup, Stage and
// Pipeline are read as what they hold: a Stage template's spec as a stage,
// a Step template's spec as a step (its `type` at template.spec.type); their
// builds name the template (FoundBuild::from_template). Templates that hold
// no CI step or stage (Deployment stages, CD steps, other types) are
// skipped, like other Harness entities (input sets, overlay input sets,
// triggers, services, environments, infrastructure definitions,
// connectors, secrets) and documents of comments only: `skipped` says what
// they are. Fail closed otherwise: a document that is none of these (an
// empty list, a list item or a stages[]/steps[] item that is none of
// Harness's) is an error, and so is a mapping that holds a key twice
// (input/yaml_document.h).
//
// The reader's parts, internal to pipeline/ (pipeline/internal/): the
// document walker (roots, stages, step groups), the infrastructure resolver
// (what a step runs on, its variables), build recognition (which steps
// build), the step readers (each step kind), the edit point reader (where
// a fix may edit, pipeline/edit_points.h) and located field reading.
//
// Thread-safe: ReadHarnessPipeline is pure.
#ifndef BUILDGATE_PIPELINE_HARNESS_PIPELINE_H_
#define BUILDGATE_PIPELINE_HARNESS_PIPELINE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/step.pb.h"
#include "input/limits.h"
#include "pipeline/edit_points.h"

namespace buildgate::pipeline {

// Where something is: 1-based line and column, and its YAML path
// ("pipeline.stages[0].stage.spec.execution.steps[2].step").
struct Location {
  int line = 0;
  int column = 0;
  std::string yaml_path;
};

// What an unresolved value decides, where the lint layer must know it.
enum class UnknownValue {
  kOther,     // privileged, runAsUser, a security-context field, ...
  kDryRun,    // PLUGIN_DRY_RUN (a variable, envVariables or settings.dry_run).
  kCaching,   // spec.caching.
  kArch,      // The node architecture.
  kStepType,  // The step's type.
  // Where the stage runs: the infrastructure's type (an expression, or a
  // step group infrastructure that is no build infrastructure), or its OS.
  kInfrastructure,
  kOs,
};

// A field whose value is a Harness expression, e.g. {"spec.privileged", "<+input>"}.
struct Unresolved {
  std::string field;
  std::string value;
  UnknownValue kind = UnknownValue::kOther;
};

enum class BuildKind {
  kBuildAndPush,  // BuildAndPushDockerRegistry, ECR, GCR, GAR, ACR.
  kPlugin,        // A Plugin step (image in build_step.image()).
  kRunCommand,    // A Run step that builds with a command of its own.
  kUnknownType,   // `type` holds an expression: it may or may not build.
};

// The most matrix combinations a build is decided for one by one; past it
// the build is decided once with <+matrix.*> unknown (and a note says so).
inline constexpr int kMaxMatrixCombinations = 64;

struct FoundBuild {
  BuildKind kind = BuildKind::kBuildAndPush;
  Location location;  // Of the step's mapping.
  std::string harness_type;  // `type` as written.
  std::string stage_id;      // As written ("" for a step fragment).
  std::string step_id;       // As written (may be an invalid Harness identifier).
  std::string step_name;
  // The step as the engine decides it (what lint passes to Decide): ids as
  // the engine accepts them (an identifier Harness would refuse is sanitized,
  // see invalid_identifiers), fields read from the step, its stage's
  // infrastructure and variables.
  v1::BuildStep build_step;
  std::vector<Unresolved> unresolved;
  // Fields that are identifiers Harness refuses: {"identifier", "buildah plugin"}.
  std::vector<Unresolved> invalid_identifiers;
  // Where a `strategy.matrix` applies: "step", "stepGroup G", "stage S".
  std::vector<std::string> matrix_scopes;
  // Each combination of matrix values the build runs with ({"image": "-gcr",
  // "repo": "gcr"}, `exclude`d ones removed) when every matrix over it is a
  // stage's or the step's own with its axes written out. Empty when there
  // is none, or one holds an expression or is a step group's (decided once,
  // <+matrix.*> unknown), or past kMaxMatrixCombinations
  // (matrix_over_bound).
  std::vector<std::map<std::string, std::string>> matrix_combinations;
  bool matrix_over_bound = false;
  // Where a literal PLUGIN_DRY_RUN came from: "stage.variables.PLUGIN_DRY_RUN",
  // "pipeline.variables.…", "stepGroup.variables.…", "spec.envVariables.…",
  // "spec.settings.dry_run"; "" when not set.
  std::string dry_run_source;
  // kRunCommand: the build command found ("docker build", "buildah bud", ...)
  // and, for docker, the Background step running docker:dind ("" if none)
  // and whether it is privileged.
  std::string build_command;
  // kRunCommand: the Run step's image as written ("" when it names none).
  // A Run step whose command builds nothing is listed only when it names
  // an image (build_command ""): lint decides whether that image builds.
  std::string run_image;
  std::string dind_step_id;
  bool dind_privileged = false;
  // Where a fix may edit the step, its stage and its security context.
  StepEditPoints edit_points;
  // The pipeline, stage and step group variables the step sees, name to
  // value as written (a later level's overrides; Secret variables are never
  // read): what a builder needing a stage variable finds, whatever the step
  // sets itself.
  std::map<std::string, std::string> scope_variables;
  // Set when the step stands in a template file rather than a pipeline:
  // the template as "Stage template ko_gar_build_push@1". Its values
  // holding <+input> are the template's inputs, given where it is used.
  std::string from_template;
};

// A template reference: the document does not hold what it expands to.
struct TemplateReference {
  Location location;
  std::string level;  // "pipeline", "stage", "stepGroup" or "step".
  std::string identifier;
  std::string template_ref;  // As written, with versionLabel ("my_build@v2").
  std::string stage_id;
};

// One YAML document of a file.
struct DocumentSummary {
  int line = 0;  // 1-based: its `---` line, or its first line.
  // What it is: "pipeline", "stage", "step", "steps", "Stage template
  // ko_gar_build_push@1", ...; or, when `linted` is false, what was
  // skipped: "input set", "template (Deployment Stage)", "empty document".
  std::string what;
  bool linted = false;  // Its builds and template references were read.
};

// At most this many YAML documents in one file (a `.harness/` file holds a
// handful); more is an error naming the limit. Each document is parsed
// with the text before it blanked (so its marks are the file's), so the
// work grows with documents times bytes: 32 documents in a file of the
// largest size take about 1 s, one document 0.15 s. The YAML node limit
// (InputLimits::max_yaml_nodes) counts the nodes of all of them together.
inline constexpr int kMaxDocumentsPerFile = 32;

struct PipelineDocument {
  std::vector<FoundBuild> builds;  // File order, over all its documents.
  std::vector<TemplateReference> templates;
  int steps_seen = 0;  // Every `step:` item, builds or not.
  // Set when no document of the file is a pipeline, stage, step or lintable
  // template but another Harness entity (an input set, trigger, service,
  // environment, CD template, ...) or nothing (comments only): what it is,
  // e.g. "input set" (several documents: each, "input set; trigger"). Then
  // there are no builds; it is not an error.
  std::string skipped;
  // Each YAML document of the file, in order (one for a file of one).
  std::vector<DocumentSummary> documents;
};

// Reads `text` (named `file` in errors and locations) within `limits`:
// every YAML document of it. Errors are kInvalidArgument
// "FILE:LINE:COLUMN: YAML.PATH: what" for a document that is no Harness
// pipeline, stage, step or entity, or a field of the wrong shape; in a file
// of several documents the message ends by naming the document
// ("(document 2 of 3, from line 40)"). Nothing partial is returned: one
// malformed document fails the file, never passes silently.
absl::StatusOr<PipelineDocument> ReadHarnessPipeline(absl::string_view text,
                                                     absl::string_view file,
                                                     const InputLimits& limits = InputLimits());

// True for an identifier Harness accepts: a letter or '_', then letters,
// digits, '_' or '$', at most 128 characters.
bool IsHarnessIdentifier(absl::string_view id);
// `id` made acceptable: every other character becomes '_', a leading digit
// gets a '_' in front, cut to 128 characters.
std::string SanitizeHarnessIdentifier(absl::string_view id);

}  // namespace buildgate::pipeline

#endif  // BUILDGATE_PIPELINE_HARNESS_PIPELINE_H_
