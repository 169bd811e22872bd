// Walking documents down to their steps
// (pipeline/internal/document_walker.h): roots, stages, step groups,
// templates, what each level passes down, and shapes refused.
#include "pipeline/internal/document_walker.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace buildgate::pipeline::internal {
namespace {

absl::Status Walk(const std::string& text, PipelineDocument* doc) {
  DocumentWalker walker("p.yaml", doc);
  return walker.Walk(YAML::Load(text));
}

// Proves every accepted root is walked: a pipeline, a stage fragment, a
// step fragment, a step group fragment and a list of stages and steps.
TEST(DocumentWalker, AcceptedRoots) {
  const char* roots[] = {
      "pipeline: {identifier: p, stages: [{stage: {identifier: s, type: CI, spec: {execution: "
      "{steps: [{step: {type: Plugin, identifier: b, spec: {image: plugins/docker}}}]}}}}]}",
      "stage: {identifier: s, type: CI, spec: {execution: {steps: [{step: {type: Plugin, "
      "identifier: b, spec: {image: plugins/docker}}}]}}}",
      "step: {type: Plugin, identifier: b, spec: {image: plugins/docker}}",
      "stepGroup: {identifier: g, steps: [{step: {type: Plugin, identifier: b, spec: {image: "
      "plugins/docker}}}]}",
      "- stage: {identifier: s, type: CI, spec: {execution: {steps: []}}}\n"
      "- step: {type: Plugin, identifier: b, spec: {image: plugins/docker}}\n",
  };
  for (const char* root : roots) {
    PipelineDocument doc;
    ASSERT_TRUE(Walk(root, &doc).ok()) << root;
    ASSERT_EQ(doc.builds.size(), 1u) << root;
    EXPECT_EQ(doc.steps_seen, 1) << root;
    EXPECT_EQ(doc.builds[0].step_id, "b");
  }
}

// Proves other Harness entities are skipped and say what they are, with no
// builds and no error: the kinds a real .harness/ folder holds besides
// pipelines (an input set carries a pipeline's inputs, not a pipeline).
TEST(DocumentWalker, OtherEntitiesAreSkippedAndNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"inputSet: {identifier: dev, pipeline: {identifier: p, stages: [{stage: {identifier: s, "
       "type: CI, spec: {execution: {steps: [{step: {type: Plugin, identifier: b, spec: "
       "{privileged: true}}}]}}}}]}}",
       "input set"},
      {"overlayInputSet: {identifier: o, inputSetReferences: [dev]}", "overlay input set"},
      {"trigger: {identifier: pr, type: Webhook}", "trigger"},
      {"service: {identifier: api}", "service"},
      {"environment: {identifier: prod, type: Production}", "environment"},
      {"infrastructureDefinition: {identifier: k8s}", "infrastructure definition"},
      {"connector: {identifier: hub, type: DockerRegistry}", "connector"},
      {"template: {identifier: t, type: Stage, spec: {type: Deployment, spec: {}}}",
       "template (Deployment Stage)"},
      {"template: {identifier: t, type: Stage}", "template (Stage)"},
      {"template: {identifier: t, type: Step, spec: {type: ShellScript, spec: {}}}",
       "template (ShellScript Step)"},
      {"template: {identifier: t, type: StepGroup, spec: {stageType: Deployment, steps: []}}",
       "template (Deployment StepGroup)"},
      {"template: {identifier: t, type: Pipeline, spec: {stages: [{stage: {identifier: d, type: "
       "Deployment, spec: {}}}]}}",
       "template (Pipeline of no CI stage)"},
      {"template: {identifier: t, type: SecretManager, spec: {}}", "template (SecretManager)"},
      {"template: {identifier: t}", "template"},
  };
  for (const auto& [text, kind] : cases) {
    PipelineDocument doc;
    ASSERT_TRUE(Walk(text, &doc).ok()) << text;
    EXPECT_EQ(doc.skipped, kind) << text;
    EXPECT_TRUE(doc.builds.empty()) << text;
  }
  // A mapping that is no Harness document at all is still an error.
  PipelineDocument doc;
  EXPECT_FALSE(Walk("kind: Deployment\napiVersion: apps/v1\n", &doc).ok());
}

// Proves a file of comments only is an empty document, skipped, not an error.
TEST(DocumentWalker, CommentsOnlyFileIsSkipped) {
  for (const char* text : {"", "\n\n", "# nothing here yet\n", "---\n# later\n...\n"}) {
    auto doc = ReadHarnessPipeline(text, "empty.yaml");
    ASSERT_TRUE(doc.ok()) << doc.status();
    EXPECT_EQ(doc->skipped, "empty document");
  }
  EXPECT_FALSE(ReadHarnessPipeline("~\n", "null.yaml").ok()) << "a null document is no comment";
}

// Proves what levels pass down: pipeline ids, stage id and variables, the
// step group's variables, matrix scopes and infrastructure.
TEST(DocumentWalker, LevelsPassDownWhatStepsInherit) {
  PipelineDocument doc;
  ASSERT_TRUE(Walk(R"(pipeline:
  identifier: rel
  projectIdentifier: pay
  stages:
    - stage:
        identifier: s
        type: CI
        strategy: {matrix: {x: [1]}}
        spec:
          infrastructure: {type: KubernetesDirect, spec: {containerSecurityContext: {runAsUser: 1000}}}
          execution:
            steps:
              - stepGroup:
                  identifier: g
                  variables: [{name: PLUGIN_DRY_RUN, type: String, value: "true"}]
                  strategy: {matrix: {y: [1]}}
                  steps:
                    - parallel:
                        - step: {type: Plugin, identifier: b, spec: {image: plugins/docker}}
    - stage: {identifier: other, type: Deployment, spec: {}}
)",
                   &doc)
                  .ok());
  ASSERT_EQ(doc.builds.size(), 1u);
  const FoundBuild& b = doc.builds[0];
  EXPECT_EQ(b.location.yaml_path,
            "pipeline.stages[0].stage.spec.execution.steps[0].stepGroup.steps[0].parallel[0].step");
  EXPECT_EQ(b.stage_id, "s");
  EXPECT_EQ(b.build_step.project_id(), "pay");
  EXPECT_EQ(b.build_step.pipeline_id(), "rel");
  EXPECT_EQ(b.build_step.infrastructure().container_security_context().run_as_user(), 1000);
  EXPECT_TRUE(b.build_step.dry_run());
  EXPECT_EQ(b.dry_run_source, "stepGroup.variables.PLUGIN_DRY_RUN");
  EXPECT_EQ(b.matrix_scopes, (std::vector<std::string>{"stage s", "stepGroup g"}));
  EXPECT_TRUE(b.edit_points.stage.is_mapping);
  EXPECT_EQ(b.edit_points.stage.keys.count("spec"), 1u);
}

// Proves template references at every level are listed, not walked.
TEST(DocumentWalker, TemplatesAreListed) {
  PipelineDocument doc;
  ASSERT_TRUE(Walk(R"(pipeline:
  identifier: p
  stages:
    - stage: {identifier: a, template: {templateRef: stage_t, versionLabel: v1}}
    - stage:
        identifier: b
        type: CI
        spec:
          execution:
            steps:
              - step: {identifier: s, template: {templateRef: step_t}}
              - stepGroup: {identifier: g, template: {templateRef: group_t}}
)",
                   &doc)
                  .ok());
  ASSERT_EQ(doc.templates.size(), 3u);
  EXPECT_EQ(doc.templates[0].level, "stage");
  EXPECT_EQ(doc.templates[0].template_ref, "stage_t@v1");
  EXPECT_EQ(doc.templates[1].level, "step");
  EXPECT_EQ(doc.templates[1].stage_id, "b");
  EXPECT_EQ(doc.templates[2].level, "stepGroup");
  EXPECT_EQ(doc.templates[2].identifier, "g");
  EXPECT_EQ(doc.steps_seen, 1);
  EXPECT_TRUE(doc.builds.empty());
}

// Proves a Step, StepGroup, Stage and Pipeline template file is walked as
// what its spec holds: a Step template's spec is the step (its type at
// template.spec.type, its identifier and name the template's), a Stage
// template's spec a stage with its infrastructure; every build names the
// template, and what() says what the document is.
TEST(DocumentWalker, TemplateFilesAreWalked) {
  struct Case {
    const char* text;
    const char* what;
    const char* yaml_path;
    const char* step_id;
    const char* stage_id;
  } cases[] = {
      {R"(template:
  name: Buildah build
  identifier: buildah_build
  versionLabel: v2
  type: Step
  projectIdentifier: web
  spec:
    type: Plugin
    spec: {image: plugins/buildah-docker, privileged: <+input>, settings: {repo: acme/app}}
)",
       "Step template buildah_build@v2", "template.spec", "buildah_build", ""},
      {R"(template:
  identifier: group_t
  type: StepGroup
  spec:
    stageType: CI
    variables: [{name: PLUGIN_DRY_RUN, type: String, value: "true"}]
    steps:
      - step: {type: Plugin, identifier: b, spec: {image: plugins/docker}}
)",
       "StepGroup template group_t", "template.spec.steps[0].step", "b", ""},
      {R"(template:
  identifier: stage_t
  versionLabel: "1"
  type: Stage
  spec:
    type: CI
    spec:
      infrastructure:
        type: KubernetesDirect
        spec: {connectorRef: <+input>, containerSecurityContext: {runAsUser: 1000}}
      execution:
        steps:
          - step: {type: Plugin, identifier: b, spec: {image: plugins/docker}}
)",
       "Stage template stage_t@1", "template.spec.spec.execution.steps[0].step", "b", "stage_t"},
      {R"(template:
  identifier: pipe_t
  type: Pipeline
  spec:
    stages:
      - stage: {identifier: deploy, type: Deployment, spec: {}}
      - stage:
          identifier: build
          type: CI
          spec:
            execution:
              steps:
                - step: {type: Plugin, identifier: b, spec: {image: plugins/docker}}
)",
       "Pipeline template pipe_t", "template.spec.stages[1].stage.spec.execution.steps[0].step",
       "b", "build"},
  };
  for (const Case& c : cases) {
    PipelineDocument doc;
    DocumentWalker walker("p.yaml", &doc);
    ASSERT_TRUE(walker.Walk(YAML::Load(c.text)).ok()) << c.text;
    EXPECT_EQ(doc.skipped, "") << c.text;
    EXPECT_EQ(walker.what(), c.what);
    ASSERT_EQ(doc.builds.size(), 1u) << c.text;
    const FoundBuild& b = doc.builds[0];
    EXPECT_EQ(b.location.yaml_path, c.yaml_path);
    EXPECT_EQ(b.step_id, c.step_id);
    EXPECT_EQ(b.build_step.step_id(), c.step_id);
    EXPECT_EQ(b.stage_id, c.stage_id);
    EXPECT_EQ(b.from_template, c.what);
    EXPECT_EQ(doc.steps_seen, 1) << c.text;
  }
  // What each template gives its steps.
  PipelineDocument step;
  ASSERT_TRUE(DocumentWalker("p.yaml", &step).Walk(YAML::Load(cases[0].text)).ok());
  EXPECT_EQ(step.builds[0].step_name, "Buildah build");
  EXPECT_EQ(step.builds[0].build_step.name(), "Buildah build");
  EXPECT_EQ(step.builds[0].build_step.project_id(), "web");  // The template's project.
  EXPECT_EQ(step.builds[0].build_step.pipeline_id(), "");
  ASSERT_EQ(step.builds[0].unresolved.size(), 1u);
  EXPECT_EQ(step.builds[0].unresolved[0].field, "spec.privileged");
  PipelineDocument group;
  ASSERT_TRUE(DocumentWalker("p.yaml", &group).Walk(YAML::Load(cases[1].text)).ok());
  EXPECT_EQ(group.builds[0].dry_run_source, "stepGroup.variables.PLUGIN_DRY_RUN");
  EXPECT_EQ(group.builds[0].scope_variables.at("PLUGIN_DRY_RUN"), "true");
  PipelineDocument stage;
  ASSERT_TRUE(DocumentWalker("p.yaml", &stage).Walk(YAML::Load(cases[2].text)).ok());
  EXPECT_EQ(stage.builds[0].build_step.infrastructure().container_security_context().run_as_user(),
            1000);
  // A Step template of a CI step that builds nothing is read, with no build.
  PipelineDocument run;
  DocumentWalker run_walker("p.yaml", &run);
  ASSERT_TRUE(run_walker
                  .Walk(YAML::Load("template: {identifier: t, type: Step, spec: {type: Run, "
                                   "spec: {command: make test}}}"))
                  .ok());
  EXPECT_EQ(run.skipped, "");
  EXPECT_EQ(run_walker.what(), "Step template t");
  EXPECT_EQ(run.steps_seen, 1);
  EXPECT_TRUE(run.builds.empty());
  // A template whose spec is no mapping is refused.
  PipelineDocument bad;
  EXPECT_FALSE(Walk("template: {identifier: t, type: Stage, spec: [a]}", &bad).ok());
}

// Proves a step sees the variables of its pipeline, stage and step group
// by name and effective value, whatever the step sets itself.
TEST(DocumentWalker, StepsSeeTheirScopeVariables) {
  PipelineDocument doc;
  ASSERT_TRUE(Walk(R"(pipeline:
  identifier: p
  variables: [{name: A, type: String, value: pipeline}, {name: S, type: Secret, value: x}]
  stages:
    - stage:
        identifier: s
        type: CI
        variables: [{name: PLUGIN_DRY_RUN, type: String, value: "true"}]
        spec:
          execution:
            steps:
              - stepGroup:
                  identifier: g
                  variables: [{name: A, type: String, value: group}]
                  steps:
                    - step:
                        type: Plugin
                        identifier: b
                        spec:
                          image: plugins/buildah-docker
                          envVariables: {PLUGIN_DRY_RUN: "true"}
)",
                   &doc)
                  .ok());
  ASSERT_EQ(doc.builds.size(), 1u);
  const std::map<std::string, std::string> expected = {{"A", "group"}, {"PLUGIN_DRY_RUN", "true"}};
  EXPECT_EQ(doc.builds[0].scope_variables, expected);
  EXPECT_EQ(doc.builds[0].dry_run_source, "spec.envVariables.PLUGIN_DRY_RUN");
}

// Proves a Run step's docker build sees its stage's docker:dind service,
// even one declared after it, and never another stage's.
TEST(DocumentWalker, DockerDaemonIsPerStage) {
  PipelineDocument doc;
  ASSERT_TRUE(Walk(R"(pipeline:
  stages:
    - stage:
        identifier: a
        type: CI
        spec:
          execution:
            steps:
              - step: {type: Run, identifier: r, spec: {command: docker build .}}
              - step: {type: Background, identifier: dind, spec: {image: "docker:dind"}}
    - stage:
        identifier: b
        type: CI
        spec:
          serviceDependencies: [{identifier: svc, spec: {image: "docker:27-dind", privileged: true}}]
          execution:
            steps:
              - step: {type: Run, identifier: r, spec: {command: docker build .}}
    - stage:
        identifier: c
        type: CI
        spec:
          execution:
            steps:
              - step: {type: Run, identifier: r, spec: {command: docker build .}}
)",
                   &doc)
                  .ok());
  ASSERT_EQ(doc.builds.size(), 3u);
  EXPECT_EQ(doc.builds[0].dind_step_id, "dind");
  EXPECT_FALSE(doc.builds[0].dind_privileged);
  EXPECT_EQ(doc.builds[1].dind_step_id, "svc");
  EXPECT_TRUE(doc.builds[1].dind_privileged);
  EXPECT_EQ(doc.builds[2].dind_step_id, "");
}

// Proves shapes buildgate cannot read are errors with their location.
TEST(DocumentWalker, RefusedShapes) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"version: 1\n", "p.yaml:1:10: version: the Harness v1 pipeline grammar is not supported"},
      {"42\n", "p.yaml:1:1: expected a Harness `pipeline:`, `stage:` or `step:` document"},
      {"pipeline: {identifier: p}\n", "p.yaml:1:11: pipeline: `stages` is missing"},
      {"stage: {identifier: s, type: CI}\n",
       "p.yaml:1:8: stage: a CI stage needs a `spec` mapping"},
      {"stage: {type: CI, spec: {execution: {steps: <+input>}}}\n",
       "stage.spec.execution.steps: the steps are a runtime input; nothing can be decided"},
      {"stepGroup: {identifier: g}\n", "p.yaml:1:12: stepGroup: `steps` is missing"},
  };
  for (const Case& c : cases) {
    PipelineDocument doc;
    const absl::Status status = Walk(c.text, &doc);
    EXPECT_TRUE(absl::StrContains(status.message(), c.error))
        << status.message() << "\n  wanted: " << c.error;
  }
}

// Proves the reader's internal headers are included only by pipeline/*.cc
// and tests/pipeline/*: everything else goes through harness_pipeline.h.
TEST(DocumentWalker, InternalHeadersStayInPipeline) {
  namespace fs = std::filesystem;
  const fs::path root = BUILDGATE_SOURCE_DIR;
  for (const char* dir :
       {"bench", "client", "common", "engine", "lint", "pipeline", "service", "tests"}) {
    if (!fs::exists(root / dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      const fs::path& path = entry.path();
      if (path.extension() != ".cc" && path.extension() != ".h") continue;
      const fs::path relative = fs::relative(path, root);
      const std::string parent = relative.parent_path().generic_string();
      const bool allowed =
          parent == "pipeline" || parent == "pipeline/internal" || parent == "tests/pipeline";
      if (allowed) continue;
      std::ifstream in(path);
      std::stringstream text;
      text << in.rdbuf();
      EXPECT_FALSE(absl::StrContains(text.str(), "#include \"pipeline/internal/"))
          << relative << " includes a pipeline/internal header";
    }
  }
}

}  // namespace
}  // namespace buildgate::pipeline::internal
