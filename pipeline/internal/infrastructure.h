// Internal to pipeline/ (only pipeline/*.cc and tests/pipeline/* include
// it): what a build inherits from where it runs.
//
//  - The infrastructure of its stage or step group: where it runs (a
//    Kubernetes pod: `infrastructure: {type: KubernetesDirect}`; a Harness
//    Cloud VM: `runtime: {type: Cloud}`; a self-managed VM pool:
//    `infrastructure: {type: VM}`; a local Docker runner:
//    `runtime: {type: Docker}`; an earlier stage's: `useFromStage`; a step
//    group's own: `stepGroupInfra`), the operating system (`platform.os`,
//    a Kubernetes spec's `os`, a VM pool's `os`), the node architecture
//    (`platform.arch`, a Kubernetes node selector) and, on Kubernetes, the
//    container security context.
//  - The variables of its pipeline, stage and step groups (PLUGIN_DRY_RUN).
//
// Each infrastructure type has one reader, chosen by `type` in
// InfrastructureResolver::ReadOfType (infrastructure.cc). A stage that says
// none is decided as Kubernetes (the engine's default); a type that is an
// expression, or a step group infrastructure that builds nowhere buildgate
// knows (Delegate, ECSDirect, ...), is an unknown value of kind
// kInfrastructure.
//
// Thread-safe: no. An InfrastructureResolver belongs to one document's
// read; an Infrastructure it made is immutable and lives as long as it.
#ifndef BUILDGATE_PIPELINE_INTERNAL_INFRASTRUCTURE_H_
#define BUILDGATE_PIPELINE_INTERNAL_INFRASTRUCTURE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/step.pb.h"
#include "pipeline/edit_points.h"
#include "pipeline/harness_pipeline.h"
#include "pipeline/internal/yaml_fields.h"
#include "yaml-cpp/yaml.h"

namespace buildgate::pipeline::internal {

// The infrastructure steps run on, as far as a build decision needs it.
struct Infrastructure {
  v1::InfrastructureType type = v1::INFRASTRUCTURE_TYPE_UNSPECIFIED;  // Not said.
  v1::OperatingSystem os = v1::OPERATING_SYSTEM_UNSPECIFIED;          // Not said: Linux.
  std::optional<v1::ContainerSecurityContext> context;  // Kubernetes only.
  v1::Arch arch = v1::ARCH_UNSPECIFIED;
  std::vector<Unresolved> unresolved;
  MappingPoints context_points;  // Of the containerSecurityContext mapping, if any.
};

// A variable a step sees, and where it was set
// ("stage.variables.PLUGIN_DRY_RUN").
struct Variable {
  std::string value;
  std::string field;
};
using Variables = std::map<std::string, Variable, std::less<>>;

// Reads `owner`'s `variables: [{name, type, value}]` (at `path`) into
// `*variables`, overriding what an outer `level` ("pipeline", "stage",
// "stepGroup") set. Secret variables are never read.
absl::Status ReadVariables(const FieldReader& fields, const YAML::Node& owner,
                           const std::string& path, absl::string_view level, Variables* variables);

// Puts what `infrastructure` says into a Plugin or Build and Push `build`:
// its type, operating system, security context, architecture and
// unresolved fields.
void ApplyInfrastructure(const Infrastructure& infrastructure, FoundBuild* build);

// Reads infrastructures and keeps them, and each CI stage's by identifier
// for a later stage's `useFromStage`.
class InfrastructureResolver {
 public:
  explicit InfrastructureResolver(const FieldReader& fields) : fields_(fields) {}
  InfrastructureResolver(const InfrastructureResolver&) = delete;
  InfrastructureResolver& operator=(const InfrastructureResolver&) = delete;

  // A CI stage's: its `spec` (at `spec_path`) `platform` and
  // `infrastructure` (an earlier stage's for `useFromStage`).
  absl::StatusOr<const Infrastructure*> ReadStage(const YAML::Node& spec,
                                                  const std::string& spec_path);

  // Makes `infrastructure` the one `useFromStage: <stage_id>` names.
  void RememberStage(const std::string& stage_id, const Infrastructure* infrastructure);

  // A step group's `stepGroupInfra` mapping (at `path`).
  absl::StatusOr<const Infrastructure*> ReadStepGroup(const YAML::Node& node,
                                                      const std::string& path);

 private:
  Infrastructure* New();
  // `infrastructure` or `stepGroupInfra`: {type, spec}, read by its type.
  absl::Status ReadOfType(const YAML::Node& node, const std::string& path,
                          Infrastructure* infrastructure);
  // A CI stage's `runtime`: {type: Cloud|Docker, spec}.
  absl::Status ReadRuntime(const YAML::Node& node, const std::string& path,
                           Infrastructure* infrastructure);
  // A VM infrastructure's spec: {type: Pool, spec: {poolName, os}}.
  absl::Status ReadVmPool(const YAML::Node& spec, const std::string& spec_path,
                          Infrastructure* infrastructure);
  absl::Status ReadKubernetes(const YAML::Node& spec, const std::string& spec_path,
                              Infrastructure* infrastructure);
  absl::Status ReadSecurityContext(const YAML::Node& context, const std::string& path,
                                   std::optional<int64_t> spec_uid, Infrastructure* infrastructure);
  absl::Status ReadArch(const YAML::Node& map, const std::string& path, const char* key,
                        const std::string& field, Infrastructure* infrastructure);
  absl::Status ReadOs(const YAML::Node& map, const std::string& path, const std::string& field,
                      Infrastructure* infrastructure);

  const FieldReader& fields_;
  std::vector<std::unique_ptr<Infrastructure>> owned_;
  std::map<std::string, const Infrastructure*, std::less<>> by_stage_;
};

}  // namespace buildgate::pipeline::internal

#endif  // BUILDGATE_PIPELINE_INTERNAL_INFRASTRUCTURE_H_
