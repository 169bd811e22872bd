// Which steps may build (pipeline/internal/build_recognition.h): step
// types, build commands in Run scripts, docker:dind images.
#include "pipeline/internal/build_recognition.h"

#include "gtest/gtest.h"

namespace buildgate::pipeline::internal {
namespace {

// Proves the five BuildAndPush* types, Plugin, Run and an expression are
// builds or may be; other types are not.
TEST(BuildRecognition, StepTypes) {
  for (const char* type : {"BuildAndPushDockerRegistry", "BuildAndPushECR", "BuildAndPushGCR",
                           "BuildAndPushGAR", "BuildAndPushACR"}) {
    EXPECT_EQ(BuildKindOfStepType(type), BuildKind::kBuildAndPush) << type;
  }
  EXPECT_EQ(BuildKindOfStepType("Plugin"), BuildKind::kPlugin);
  EXPECT_EQ(BuildKindOfStepType("Run"), BuildKind::kRunCommand);
  EXPECT_EQ(BuildKindOfStepType("<+input>"), BuildKind::kUnknownType);
  for (const char* type : {"Background", "ShellScript", "RunTests", "", "run"}) {
    EXPECT_FALSE(BuildKindOfStepType(type).has_value()) << type;
  }
}

// Proves each build command is found with the image it tags (tag dropped),
// past global flags, sudo and earlier commands.
TEST(BuildRecognition, FindsBuildCommandsAndTheirImages) {
  struct Case {
    const char* script;
    const char* command;
    const char* image;
  } cases[] = {
      {"docker build -t registry.acme.io/team/a:1.0 .", "docker build", "registry.acme.io/team/a"},
      {"docker --host tcp://localhost:2375 build -t a/b .", "docker build", "a/b"},
      {"docker buildx build --tag=quay.io/x/y:2 .", "docker buildx build", "quay.io/x/y"},
      {"docker image build .", "docker image build", ""},
      {"podman build --tag=quay.io/acme/b:<+codebase.commitSha> .", "podman build",
       "quay.io/acme/b"},
      {"make test; sudo buildah bud -t quay.io/acme/g .", "buildah bud", "quay.io/acme/g"},
      {"buildah build -t 'q.io/a/b:1' .", "buildah build", "q.io/a/b"},
      {"/kaniko/executor --destination quay.io/acme/c", "kaniko executor", "quay.io/acme/c"},
      {"docker build -t acme/e:$TAG .", "docker build", ""},  // A shell variable: unknown.
  };
  for (const Case& c : cases) {
    const ScriptBuild found = FindScriptBuild(c.script);
    EXPECT_EQ(found.command, c.command) << c.script;
    EXPECT_EQ(found.image, c.image) << c.script;
  }
}

// Proves printing, commenting or running containers builds nothing.
TEST(BuildRecognition, PrintingOrRunningIsNoBuild) {
  for (const char* script : {"echo docker build .", "printf 'podman build'", "# buildah bud .",
                             "docker run --rm alpine echo hi", "make test", ""}) {
    EXPECT_EQ(FindScriptBuild(script).command, "") << script;
  }
}

// Proves a Run step is a build when its script builds or it names an image.
TEST(BuildRecognition, RunStepBuilds) {
  EXPECT_TRUE(IsRunStepBuild({"docker build", ""}, ""));
  EXPECT_TRUE(IsRunStepBuild({"", ""}, "quay.io/buildah/stable:v1.37"));
  EXPECT_FALSE(IsRunStepBuild({"", ""}, ""));
  EXPECT_TRUE(NeedsDockerDaemon("docker buildx build"));
  EXPECT_FALSE(NeedsDockerDaemon("podman build"));
}

// Proves docker:dind images with and without Docker Hub's prefixes.
TEST(BuildRecognition, DockerInDockerImages) {
  EXPECT_TRUE(IsDockerInDockerImage("docker:27-dind"));
  EXPECT_TRUE(IsDockerInDockerImage("docker:dind"));
  EXPECT_TRUE(IsDockerInDockerImage("docker.io/library/docker:24-dind-rootless"));
  EXPECT_TRUE(IsDockerInDockerImage("library/docker:dind"));
  EXPECT_FALSE(IsDockerInDockerImage("docker:27"));
  EXPECT_FALSE(IsDockerInDockerImage("quay.io/docker:dind"));
  EXPECT_FALSE(IsDockerInDockerImage("alpine"));
}

}  // namespace
}  // namespace buildgate::pipeline::internal
