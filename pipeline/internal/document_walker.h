// Internal to pipeline/ (only pipeline/*.cc and tests/pipeline/* include
// it): walking a Harness document down to its steps.
//
// Roots: `pipeline:` (also the governance hook's {"pipeline": ...}), a
// `stage:` or `step:` fragment, and a list of such items. Stages are walked
// in `parallel` blocks; a CI stage's steps in `stepGroup`s (with their own
// variables and `stepGroupInfra`), `parallel` blocks and nested groups.
// Template references are listed, not walked. A template file (`template:`
// at the root) of type Step, StepGroup, Stage or Pipeline is walked as what
// its spec holds, its builds marked as the template's; other templates,
// and Step/StepGroup/Stage templates of no CI step or stage, are skipped
// with what they are. Each level passes down what
// its steps inherit (StepContext); the infrastructure is the
// InfrastructureResolver's to read, each step the StepReader's, once its
// whole stage is walked.
//
// Fail closed: a root, stages[] item or steps[] item that is none of
// Harness's is an error, never skipped.
//
// Thread-safe: no. A DocumentWalker reads one document, once.
#ifndef BUILDGATE_PIPELINE_INTERNAL_DOCUMENT_WALKER_H_
#define BUILDGATE_PIPELINE_INTERNAL_DOCUMENT_WALKER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pipeline/harness_pipeline.h"
#include "pipeline/internal/infrastructure.h"
#include "pipeline/internal/step_readers.h"
#include "pipeline/internal/yaml_fields.h"
#include "yaml-cpp/yaml.h"

namespace buildgate::pipeline::internal {

class DocumentWalker {
 public:
  // Builds, template references and steps seen go to `*out`; `file` names
  // the document in errors and locations.
  DocumentWalker(absl::string_view file, PipelineDocument* out);
  DocumentWalker(const DocumentWalker&) = delete;
  DocumentWalker& operator=(const DocumentWalker&) = delete;

  // Walks the document `root`. On error `*out` holds what was read before it.
  absl::Status Walk(const YAML::Node& root);

  // After Walk: what the document is ("pipeline", "stage", "step", "list
  // of stages and steps", "Stage template T@1"); "" when it was skipped
  // (then `out->skipped` says what it is).
  const std::string& what() const { return what_; }

 private:
  // `pipeline:` (ids read from it) and a Pipeline template's spec (ids given).
  absl::Status Pipeline(const YAML::Node& pipeline, const std::string& path);
  absl::Status PipelineBody(const YAML::Node& pipeline, const std::string& path);
  // A template file's `template:` mapping.
  absl::Status TemplateEntity(const YAML::Node& tmpl);
  // A `stages[]` item: `stage:` or `parallel:` (a list of items).
  absl::Status StageItem(const YAML::Node& item, const std::string& path);
  absl::Status Stage(const YAML::Node& item, const YAML::Node& stage, const std::string& path);
  // A stage body (a `stage:` mapping or a Stage template's spec) with
  // identifier `id`; only a `type: CI` stage is walked.
  absl::Status StageBody(const YAML::Node& stage, const std::string& path, const std::string& id);
  absl::Status StepList(const YAML::Node& steps, const std::string& path,
                        const StepContext& context, std::vector<StepVisit>* visits);
  // A `steps[]` item: `step:`, `stepGroup:` or `parallel:`.
  absl::Status StepItem(const YAML::Node& item, const std::string& path, const StepContext& context,
                        std::vector<StepVisit>* visits);
  absl::Status StepGroup(const YAML::Node& item, const YAML::Node& group, const std::string& path,
                         const StepContext& context, std::vector<StepVisit>* visits);
  // Every step of one stage (or fragment) once it is walked; `services` are
  // the stage's serviceDependencies.
  absl::Status ReadSteps(const std::vector<StepVisit>& visits,
                         const YAML::Node& services = YAML::Node());
  // A template reference at `level` ("pipeline", "stage", "stepGroup", "step").
  absl::Status Template(const YAML::Node& item, const std::string& path, absl::string_view level,
                        const std::string& id, const std::string& stage_id);

  FieldReader fields_;
  PipelineDocument* out_;
  InfrastructureResolver infrastructures_;
  StepReader step_reader_;
  // Set by `pipeline:`: every step inherits them.
  std::string project_id_, pipeline_id_;
  Variables pipeline_variables_;
  std::string what_;
  // The template file being walked ("Stage template T@1"), else "".
  std::string from_template_;
  int ci_stages_ = 0;  // CI stages walked.
};

}  // namespace buildgate::pipeline::internal

#endif  // BUILDGATE_PIPELINE_INTERNAL_DOCUMENT_WALKER_H_
