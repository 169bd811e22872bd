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
      {"docker buildx --builder ci build -t a/x:1 --push .", "docker buildx build", "a/x"},
      {"docker buildx bake --push", "docker buildx bake", ""},
      {"docker builder build -t a/y .", "docker builder build", "a/y"},
      {"podman buildx build -t q.io/a/p .", "podman buildx build", "q.io/a/p"},
      {"podman image build -t q.io/a/i .", "podman image build", "q.io/a/i"},
      {"nerdctl build -t reg.io/a/n:1 .", "nerdctl build", "reg.io/a/n"},
      {"nerdctl --namespace k8s.io image build -t reg.io/a/m .", "nerdctl image build", "reg.io/a/m"},
      {"buildctl --addr tcp://buildkitd:1234 build --frontend dockerfile.v0 --local context=. "
       "--output type=image,name=reg.io/a/k:2,push=true",
       "buildctl build", "reg.io/a/k"},
      {"buildctl build --frontend dockerfile.v0 --output type=local,dest=out", "buildctl build", ""},
      {"docker buildx create --use && docker buildx build -t a/z .", "docker buildx build", "a/z"},
      // ko pushes to KO_DOCKER_REPO (the step's envVariables), not a flag;
      // kameshsampath/go-hello-world's .harness/build.yaml writes it so.
      {"IMAGE_REF=$(ko build --bare .)", "ko build", ""},
      {"ko resolve -f config/ > release.yaml", "ko resolve", ""},
      {"ko apply -f config/", "ko apply", ""},
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
                             "docker run --rm alpine echo hi", "make test", "",
                             // Look-alikes: buildx and image subcommands that build nothing.
                             "docker buildx create --name ci --use", "docker buildx use ci",
                             "docker buildx imagetools create -t a/b:1 a/b:0", "docker buildx version",
                             "docker buildx inspect --bootstrap", "docker buildx ls",
                             "docker image ls", "docker image push a/b:1", "podman buildx version",
                             "buildah push quay.io/a/b", "buildah images", "nerdctl images",
                             "buildctl debug workers", "docker builder prune -af",
                             "docker pull gcr.io/kaniko-project/executor",
                             "ko auth login ghcr.io -u me --password-stdin", "ko version",
                             "ko login ghcr.io", "ko delete -f config/"}) {
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
