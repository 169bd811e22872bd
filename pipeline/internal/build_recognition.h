// Internal to pipeline/ (only pipeline/*.cc and tests/pipeline/* include
// it): which steps may build an image (docs/pipelines.md).
//
//  - the five BuildAndPush* types;
//  - every Plugin step (whether its image is a builder plugin is the
//    policy's business: lint asks the engine);
//  - Run steps whose script runs a build subcommand (`docker build`,
//    `docker image|builder build`, `docker buildx build|bake`, `podman
//    build`, `buildah bud|build`, `nerdctl build`, `buildctl build`, kaniko's
//    executor; never `docker buildx create|use|imagetools` and the like),
//    and Run steps that name an image (lint decides whether that image is
//    an image builder);
//  - steps whose type is an expression (they may build).
// Also the docker:dind images a Run step's `docker build` talks to.
// Knows step types and shell words, never the policy.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_PIPELINE_INTERNAL_BUILD_RECOGNITION_H_
#define BUILDGATE_PIPELINE_INTERNAL_BUILD_RECOGNITION_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "pipeline/harness_pipeline.h"

namespace buildgate::pipeline::internal {

// What a step of Harness type `type` ("Plugin", "<+input>") may be;
// nullopt for a type that builds nothing (Background, ShellScript, ...).
std::optional<BuildKind> BuildKindOfStepType(absl::string_view type);

// An image build found in a Run step's script.
struct ScriptBuild {
  std::string command;  // "docker build", "buildah bud", "kaniko executor"; "" for none.
  // The image it tags (`-t`, `--tag`, `--destination`, `-d`, buildctl's
  // `--output ...,name=IMAGE`), without its tag; "" when it tags none or
  // names it with a shell variable.
  std::string image;
};

// The first image-building command among `script`'s shell commands. A
// comment, or a command that only prints (echo, printf), builds nothing.
ScriptBuild FindScriptBuild(absl::string_view script);

// True when a Run step is listed as a build: its script builds, or it
// names an image (lint judges whether that image is an image builder).
bool IsRunStepBuild(const ScriptBuild& script_build, absl::string_view run_image);

// True when `command` (FindScriptBuild's) needs a docker daemon: docker's
// builds talk to the stage's docker:dind service.
bool NeedsDockerDaemon(absl::string_view command);

// True for a docker:dind image ("docker:27-dind", "docker.io/library/docker:dind").
bool IsDockerInDockerImage(absl::string_view image);

}  // namespace buildgate::pipeline::internal

#endif  // BUILDGATE_PIPELINE_INTERNAL_BUILD_RECOGNITION_H_
