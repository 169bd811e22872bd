// Reading one step into a FoundBuild (pipeline/internal/step_readers.h):
// each step kind's fields, what the step inherits, docker:dind services.
#include "pipeline/internal/step_readers.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace buildgate::pipeline::internal {
namespace {

// A `- step:` item read from `text` (one item), in `context`.
StepVisit Visit(const std::string& text, StepContext context = StepContext()) {
  const YAML::Node items = YAML::Load(text);
  return StepVisit{items[0], items[0]["step"], "[0].step", std::move(context)};
}

std::optional<FoundBuild> Read(const StepVisit& visit, const DockerDaemon& daemon = {}) {
  const FieldReader fields("p.yaml");
  auto build = StepReader(fields).Read(visit, daemon);
  EXPECT_TRUE(build.ok()) << build.status();
  return build.ok() ? *std::move(build) : std::nullopt;
}

// Proves a Plugin step's image, privileged, settings, tags and dry run are
// read, with the ids and infrastructure it inherits.
TEST(StepReaders, PluginStep) {
  StepContext context;
  context.project_id = "payments";
  context.pipeline_id = "release";
  context.stage_id = "build stage";
  Infrastructure infra;
  infra.arch = v1::ARCH_ARM64;
  context.infrastructure = &infra;
  context.variables["PLUGIN_DRY_RUN"] = {"true", "stage.variables.PLUGIN_DRY_RUN"};
  context.matrix_scopes = {"stage build"};
  const auto build = Read(Visit(R"(- step:
    type: Plugin
    identifier: buildah
    name: Build it
    strategy: {matrix: {a: [1, 2]}}
    spec:
      image: plugins/buildah-docker:1.1.0-linux-amd64
      privileged: false
      connectorRef: hub
      settings: {repo: acme/app, tags: "a, b", dockerfile: Containerfile}
)",
                                context));
  ASSERT_TRUE(build.has_value());
  EXPECT_EQ(build->kind, BuildKind::kPlugin);
  EXPECT_EQ(build->location.line, 1);
  EXPECT_EQ(build->location.column, 3);
  EXPECT_EQ(build->location.yaml_path, "[0].step");
  const v1::BuildStep& s = build->build_step;
  EXPECT_EQ(s.kind(), v1::STEP_KIND_PLUGIN);
  EXPECT_EQ(s.image(), "plugins/buildah-docker:1.1.0-linux-amd64");
  EXPECT_FALSE(s.privileged());
  EXPECT_EQ(s.connector_ref(), "hub");
  EXPECT_EQ(s.repo(), "acme/app");
  EXPECT_EQ(s.tags_size(), 2);
  EXPECT_EQ(s.dockerfile(), "Containerfile");
  EXPECT_EQ(s.project_id(), "payments");
  EXPECT_EQ(s.pipeline_id(), "release");
  EXPECT_EQ(s.stage_id(), "build_stage");
  EXPECT_EQ(s.step_id(), "buildah");
  EXPECT_EQ(s.name(), "Build it");
  EXPECT_EQ(s.arch(), v1::ARCH_ARM64);
  EXPECT_TRUE(s.dry_run());
  EXPECT_EQ(build->dry_run_source, "stage.variables.PLUGIN_DRY_RUN");
  EXPECT_EQ(build->matrix_scopes, (std::vector<std::string>{"stage build", "step"}));
  ASSERT_EQ(build->invalid_identifiers.size(), 1u);
  EXPECT_EQ(build->invalid_identifiers[0].field, "stage.identifier");
}

// Proves each Build and Push type's registry and repository.
TEST(StepReaders, BuildAndPushTypes) {
  struct Case {
    const char* spec;
    const char* type;
    const char* registry;
    const char* repo;
  } cases[] = {
      {"{repo: acme/app}", "BuildAndPushDockerRegistry", "", "acme/app"},
      {"{account: \"1234\", region: eu-west-1, imageName: app}", "BuildAndPushECR",
       "1234.dkr.ecr.eu-west-1.amazonaws.com", "app"},
      {"{host: gcr.io, projectID: p, imageName: app}", "BuildAndPushGCR", "gcr.io", "p/app"},
      {"{repository: acme.azurecr.io/team/app}", "BuildAndPushACR", "acme.azurecr.io", "team/app"},
      {"{repository: <+input>}", "BuildAndPushACR", "<+input>", "<+input>"},
  };
  for (const Case& c : cases) {
    const auto build = Read(
        Visit(absl::StrCat("- step: {type: ", c.type, ", identifier: b, spec: ", c.spec, "}")));
    ASSERT_TRUE(build.has_value()) << c.type;
    EXPECT_EQ(build->build_step.registry(), c.registry) << c.spec;
    EXPECT_EQ(build->build_step.repo(), c.repo) << c.spec;
  }
}

// Proves a Build and Push step's required fields and an unknown type are
// errors naming the field.
TEST(StepReaders, BuildAndPushErrors) {
  const FieldReader fields("p.yaml");
  const StepReader reader(fields);
  EXPECT_EQ(reader.Read(Visit("- step: {type: BuildAndPushECR, spec: {region: r}}"), {})
                .status()
                .message(),
            "p.yaml:1:39: [0].step.spec.account: required for BuildAndPushECR");
  EXPECT_EQ(reader.Read(Visit("- step: {type: BuildAndPushQuay, spec: {repo: r}}"), {})
                .status()
                .message(),
            "p.yaml:1:16: [0].step.type: unknown Build and Push type \"BuildAndPushQuay\" "
            "(BuildAndPushDockerRegistry, BuildAndPushECR, BuildAndPushGCR, BuildAndPushGAR or "
            "BuildAndPushACR)");
  EXPECT_EQ(
      reader.Read(Visit("- step: {type: Plugin, spec: {privileged: true}}"), {}).status().message(),
      "p.yaml:1:30: [0].step.spec: a Plugin step needs an `image`");
  EXPECT_EQ(reader.Read(Visit("- step: {type: Run}"), {}).status().message(),
            "p.yaml:1:9: [0].step: `spec` is missing");
}

// Proves a Run step's build, the image it tags and the stage's docker:dind
// daemon; a Run step that neither builds nor names an image, and a step of
// another type, are no builds.
TEST(StepReaders, RunStepsAndOtherSteps) {
  const auto docker = Read(
      Visit("- step: {type: Run, identifier: r, spec: {command: \"docker build -t a/b:1 .\"}}"),
      DockerDaemon{"dind", true});
  ASSERT_TRUE(docker.has_value());
  EXPECT_EQ(docker->kind, BuildKind::kRunCommand);
  EXPECT_EQ(docker->build_command, "docker build");
  EXPECT_EQ(docker->build_step.kind(), v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY);
  EXPECT_EQ(docker->build_step.repo(), "a/b");
  EXPECT_EQ(docker->dind_step_id, "dind");
  EXPECT_TRUE(docker->dind_privileged);
  // Only docker talks to the daemon.
  const auto buildah = Read(Visit("- step: {type: Run, spec: {command: buildah bud .}}"),
                            DockerDaemon{"dind", true});
  ASSERT_TRUE(buildah.has_value());
  EXPECT_EQ(buildah->build_step.repo(), "<+input>");
  EXPECT_EQ(buildah->dind_step_id, "");
  const auto image = Read(Visit(
      "- step: {type: Run, spec: {image: \"gcr.io/kaniko-project/executor\", command: ./x}}"));
  ASSERT_TRUE(image.has_value());
  EXPECT_EQ(image->build_command, "");
  EXPECT_EQ(image->run_image, "gcr.io/kaniko-project/executor");
  EXPECT_FALSE(Read(Visit("- step: {type: Run, spec: {command: make test}}")).has_value());
  EXPECT_FALSE(Read(Visit("- step: {type: ShellScript, spec: {}}")).has_value());
  const auto unknown = Read(Visit("- step: {type: <+input>, identifier: u}"));
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->kind, BuildKind::kUnknownType);
  ASSERT_EQ(unknown->unresolved.size(), 1u);
  EXPECT_EQ(unknown->unresolved[0].kind, UnknownValue::kStepType);
}

// Proves a step's own PLUGIN_DRY_RUN wins over its stage's, and an
// expression is unresolved, not false.
TEST(StepReaders, DryRun) {
  StepContext context;
  context.variables["PLUGIN_DRY_RUN"] = {"true", "stage.variables.PLUGIN_DRY_RUN"};
  const auto own =
      Read(Visit("- step: {type: Plugin, spec: {image: plugins/docker, envVariables: "
                 "{PLUGIN_DRY_RUN: <+input>}}}",
                 context));
  ASSERT_TRUE(own.has_value());
  EXPECT_FALSE(own->build_step.dry_run());
  ASSERT_EQ(own->unresolved.size(), 1u);
  EXPECT_EQ(own->unresolved[0].field, "spec.envVariables.PLUGIN_DRY_RUN");
  EXPECT_EQ(own->unresolved[0].kind, UnknownValue::kDryRun);
  const auto settings = Read(Visit(
      "- step: {type: Plugin, spec: {image: plugins/docker, settings: {dry_run: \"true\"}}}"));
  ASSERT_TRUE(settings.has_value());
  EXPECT_TRUE(settings->build_step.dry_run());
  EXPECT_EQ(settings->dry_run_source, "spec.settings.dry_run");
}

// Proves docker:dind services: a Background step (its id, privileged) or a
// service dependency; other steps run none.
TEST(StepReaders, DockerDaemons) {
  const auto background = ReadDockerDaemon(
      YAML::Load(
          "{type: Background, identifier: d, spec: {image: \"docker:27-dind\", privileged: TRUE}}"),
      /*background=*/true);
  ASSERT_TRUE(background.has_value());
  EXPECT_EQ(background->step_id, "d");
  EXPECT_TRUE(background->privileged);
  EXPECT_FALSE(ReadDockerDaemon(YAML::Load("{type: Run, spec: {image: \"docker:dind\"}}"),
                                /*background=*/true)
                   .has_value());
  const auto service =
      ReadDockerDaemon(YAML::Load("{spec: {image: \"docker:dind\"}}"), /*background=*/false);
  ASSERT_TRUE(service.has_value());
  EXPECT_EQ(service->step_id, "dind");
  EXPECT_FALSE(service->privileged);
  EXPECT_FALSE(
      ReadDockerDaemon(YAML::Load("{type: Background, spec: {image: redis}}"), true).has_value());
}

}  // namespace
}  // namespace buildgate::pipeline::internal
