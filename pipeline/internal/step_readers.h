// Internal to pipeline/ (only pipeline/*.cc and tests/pipeline/* include
// it): reading one step into a FoundBuild.
//
// Each step kind has its reader: Build and Push (the five BuildAndPush*
// types and their registries), Plugin (image, privileged, settings), Run
// (the build in its script, its image, the docker:dind daemon it talks
// to), and Background steps or service dependencies running docker:dind.
// Then what the step inherits from where it sits (StepContext): ids,
// infrastructure, PLUGIN_DRY_RUN from variables, matrix strategies.
//
// Thread-safe: a StepReader is immutable once made; Read may run on any
// number of threads, each with its own nodes.
#ifndef BUILDGATE_PIPELINE_INTERNAL_STEP_READERS_H_
#define BUILDGATE_PIPELINE_INTERNAL_STEP_READERS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/harness_pipeline.h"
#include "pipeline/internal/infrastructure.h"
#include "pipeline/internal/yaml_fields.h"
#include "yaml-cpp/yaml.h"

namespace buildgate::pipeline::internal {

// What a step inherits from where it sits. Copied, never assigned: a
// YAML::Node's operator= writes into the document (see BindNode).
struct StepContext {
  StepContext() = default;
  StepContext(const StepContext&) = default;
  StepContext& operator=(const StepContext&) = delete;

  std::string project_id;                          // As the engine takes it (EngineIdentifier).
  std::string pipeline_id;                         // Likewise.
  std::string stage_id;                            // As written ("" for a step fragment).
  const Infrastructure* infrastructure = nullptr;  // None for a step fragment.
  Variables variables;                             // Pipeline, stage and step group variables.
  std::vector<std::string> matrix_scopes;          // "stage S", "stepGroup G".
  YAML::Node stage;                                // The stage's mapping (a step fragment: null).
  YAML::Node stage_variables;                      // The stage's `variables` list, if any.
};

// A `- step:` item found while walking a stage, read once the whole stage
// is known (a Run step's docker:dind Background step may come after it).
struct StepVisit {
  YAML::Node item;   // The `- step:` item mapping.
  YAML::Node step;   // Its `step` mapping.
  std::string path;  // The YAML path of `step`.
  StepContext context;
};

// A docker:dind service of a stage: a Background step or a service
// dependency. A Run step's `docker build` talks to it.
struct DockerDaemon {
  std::string step_id;  // "" when the stage runs none.
  bool privileged = false;
};

// The docker:dind service `step` runs, or nullopt when it runs none. A
// steps[] item must be a Background step (`background`); a service
// dependency need not.
std::optional<DockerDaemon> ReadDockerDaemon(const YAML::Node& step, bool background);

class StepReader {
 public:
  explicit StepReader(const FieldReader& fields) : fields_(fields) {}

  // The build `visit` is, or nullopt when it builds nothing (its type is no
  // build's, or a Run step that neither builds nor names an image). `daemon`
  // is its stage's docker:dind service.
  absl::StatusOr<std::optional<FoundBuild>> Read(const StepVisit& visit,
                                                 const DockerDaemon& daemon) const;

 private:
  absl::Status ReadBuildAndPushSpec(const std::string& type, const YAML::Node& step,
                                    const YAML::Node& spec, const std::string& spec_path,
                                    FoundBuild* build) const;
  absl::Status ReadPluginSpec(const YAML::Node& spec, const std::string& spec_path,
                              FoundBuild* build) const;
  // False (and nothing read) when the Run step is no build.
  absl::StatusOr<bool> ReadRunSpec(const YAML::Node& spec, const std::string& spec_path,
                                   const DockerDaemon& daemon, FoundBuild* build) const;
  // connectorRef, runAsUser, envVariables.PLUGIN_DRY_RUN.
  absl::Status ReadCommonSpecFields(const YAML::Node& spec, const std::string& spec_path,
                                    FoundBuild* build) const;
  absl::Status ReadTags(const YAML::Node& node, const std::string& path,
                        v1::BuildStep* build_step) const;

  const FieldReader& fields_;
};

}  // namespace buildgate::pipeline::internal

#endif  // BUILDGATE_PIPELINE_INTERNAL_STEP_READERS_H_
