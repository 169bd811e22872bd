// Reading Harness pipeline documents: shapes, locations, inheritance and
// values that are unknown until the pipeline runs.
#include "pipeline/harness_pipeline.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace buildgate::pipeline {
namespace {

PipelineDocument Read(const std::string& text) {
  auto doc = ReadHarnessPipeline(text, "p.yaml");
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? *std::move(doc) : PipelineDocument();
}

constexpr char kStages[] = R"(pipeline:
  identifier: long_pipeline_identifier_for_the_platform_team_release
  projectIdentifier: payments
  variables:
    - {name: PLUGIN_DRY_RUN, type: String, value: "false"}
  stages:
    - stage:
        identifier: first_stage_with_kubernetes_direct_infrastructure
        type: CI
        spec:
          infrastructure:
            type: KubernetesDirect
            spec:
              nodeSelector: {kubernetes.io/arch: arm64}
              containerSecurityContext:
                runAsNonRoot: true
                runAsUser: "1000"
                privileged: <+input>
          execution:
            steps:
              - step: {type: Run, identifier: tests, spec: {command: make test}}
    - parallel:
        - stage:
            identifier: second
            type: CI
            variables:
              - {name: PLUGIN_DRY_RUN, type: String, value: "true"}
            spec:
              infrastructure:
                useFromStage: first_stage_with_kubernetes_direct_infrastructure
              execution:
                steps:
                  - stepGroup:
                      identifier: group
                      stepGroupInfra:
                        type: KubernetesDirect
                        spec:
                          containerSecurityContext: {runAsUser: "2000"}
                      steps:
                        - parallel:
                            - step:
                                type: BuildAndPushECR
                                identifier: ecr
                                spec:
                                  account: "123456789012"
                                  region: <+pipeline.variables.REGION>
                                  imageName: team/app
                                  tags: [<+codebase.commitSha>]
                                  runAsUser: <+input>
                  - step:
                      type: Plugin
                      identifier: buildah
                      strategy: {matrix: {arch: [a, b]}}
                      spec:
                        image: plugins/buildah-docker:1.1.0-linux-amd64
                        privileged: "true"
                        settings: {repo: acme/app, tags: "a, b", registry: https://index.docker.io/v2/}
)";

// Proves stages in parallel blocks, step groups, nested parallel steps and
// useFromStage are walked, with their YAML paths and positions.
TEST(HarnessPipeline, WalksEveryLevelWithLocations) {
  const PipelineDocument doc = Read(kStages);
  EXPECT_EQ(doc.steps_seen, 3);
  ASSERT_EQ(doc.builds.size(), 2u);
  const FoundBuild& ecr = doc.builds[0];
  EXPECT_EQ(ecr.location.yaml_path,
            "pipeline.stages[1].parallel[0].stage.spec.execution.steps[0].stepGroup.steps[0]."
            "parallel[0].step");
  EXPECT_EQ(ecr.location.line, 41);  // The `step:` key of its `- step:` item.
  EXPECT_EQ(ecr.location.column, 31);
  EXPECT_EQ(ecr.stage_id, "second");
  EXPECT_EQ(ecr.build_step.kind(), v1::STEP_KIND_BUILD_AND_PUSH_ECR);
  EXPECT_EQ(ecr.build_step.registry(), "123456789012.dkr.ecr.<+pipeline.variables.REGION>.amazonaws.com");
  EXPECT_EQ(ecr.build_step.project_id(), "payments");
  EXPECT_EQ(ecr.build_step.pipeline_id(), "long_pipeline_identifier_for_the_platform_team_release");
  // The step group's own infrastructure, not the stage's.
  EXPECT_EQ(ecr.build_step.infrastructure().container_security_context().run_as_user(), 2000);
  EXPECT_FALSE(ecr.build_step.infrastructure().container_security_context().has_run_as_non_root());
  // Stage variables override pipeline variables.
  EXPECT_TRUE(ecr.build_step.dry_run());

  const FoundBuild& buildah = doc.builds[1];
  EXPECT_EQ(buildah.build_step.kind(), v1::STEP_KIND_PLUGIN);
  // useFromStage: the first stage's context and architecture.
  const auto& ctx = buildah.build_step.infrastructure().container_security_context();
  EXPECT_TRUE(ctx.run_as_non_root());
  EXPECT_EQ(ctx.run_as_user(), 1000);
  EXPECT_EQ(buildah.build_step.arch(), v1::ARCH_ARM64);
  EXPECT_TRUE(buildah.build_step.privileged());
  EXPECT_EQ(buildah.build_step.tags_size(), 2);
  EXPECT_EQ(buildah.build_step.registry(), "https://index.docker.io/v2/");
  EXPECT_EQ(buildah.matrix_scopes, std::vector<std::string>{"step"});
}

// Proves an expression is unknown, never false or 0: the field stays unset
// and is listed with its text.
TEST(HarnessPipeline, ExpressionsAreUnresolvedNotFalse) {
  const PipelineDocument doc = Read(kStages);
  const FoundBuild& ecr = doc.builds[0];
  EXPECT_FALSE(ecr.build_step.has_run_as_user());
  bool found = false;
  for (const Unresolved& u : ecr.unresolved) found |= u.field == "spec.runAsUser" && u.value == "<+input>";
  EXPECT_TRUE(found);
  const FoundBuild& buildah = doc.builds[1];
  EXPECT_FALSE(buildah.build_step.infrastructure().container_security_context().has_privileged());
  found = false;
  for (const Unresolved& u : buildah.unresolved) {
    found |= u.field == "infrastructure.containerSecurityContext.privileged";
  }
  EXPECT_TRUE(found);
}

// Proves the governance hook's JSON reads like the YAML.
TEST(HarnessPipeline, ReadsGovernanceHookJson) {
  const PipelineDocument doc = Read(R"({"pipeline": {"identifier": "p", "stages": [
    {"stage": {"identifier": "s", "type": "CI", "spec": {"execution": {"steps": [
      {"stepGroup": {"identifier": "g", "steps": [{"step": {"type": "BuildAndPushGAR",
        "identifier": "gar", "spec": {"host": "us-docker.pkg.dev", "projectID": "acme-prod",
        "imageName": "repo/app", "tags": ["1"]}}}]}}]}}}}]}, "metadata": {"action": "onsave"}})");
  ASSERT_EQ(doc.builds.size(), 1u);
  EXPECT_EQ(doc.builds[0].build_step.repo(), "acme-prod/repo/app");
  EXPECT_EQ(doc.builds[0].location.yaml_path,
            "pipeline.stages[0].stage.spec.execution.steps[0].stepGroup.steps[0].step");
}

// Proves Run steps that build are found, the image they tag read, and a
// docker:dind Background step noted; other commands are not builds.
TEST(HarnessPipeline, FindsRunStepBuilds) {
  const PipelineDocument doc = Read(R"(- step: {type: Background, identifier: dind, spec: {image: "docker:27-dind", privileged: true}}
- step: {type: Run, identifier: a, spec: {command: "docker --host tcp://localhost:2375 build -t registry.acme.io/team/a:1.0 ."}}
- step: {type: Run, identifier: b, spec: {command: "podman build --tag=quay.io/acme/b:<+codebase.commitSha> ."}}
- step: {type: Run, identifier: c, spec: {command: "/kaniko/executor --destination quay.io/acme/c"}}
- step: {type: Run, identifier: d, spec: {command: "docker run --rm alpine echo hi"}}
- step: {type: Run, identifier: e, spec: {command: "docker build -t acme/e:$TAG ."}}
- step: {type: Run, identifier: f, spec: {command: "echo docker build . && printf 'podman build'\n# buildah bud ."}}
- step: {type: Run, identifier: g, spec: {command: "make test; sudo buildah bud -t quay.io/acme/g ."}}
)");
  ASSERT_EQ(doc.builds.size(), 5u);
  EXPECT_EQ(doc.builds[0].build_command, "docker build");
  EXPECT_EQ(doc.builds[0].build_step.repo(), "registry.acme.io/team/a");
  EXPECT_EQ(doc.builds[0].dind_step_id, "dind");
  EXPECT_TRUE(doc.builds[0].dind_privileged);
  EXPECT_EQ(doc.builds[1].build_command, "podman build");
  EXPECT_EQ(doc.builds[1].build_step.repo(), "quay.io/acme/b");
  EXPECT_EQ(doc.builds[2].build_command, "kaniko executor");
  EXPECT_EQ(doc.builds[2].build_step.repo(), "quay.io/acme/c");
  // A shell variable in the image: unknown.
  EXPECT_EQ(doc.builds[3].build_step.repo(), "<+input>");
  // Printing or commenting a build command is no build; sudo is.
  EXPECT_EQ(doc.builds[4].step_id, "g");
  EXPECT_EQ(doc.builds[4].build_command, "buildah bud");
  EXPECT_EQ(doc.builds[4].build_step.repo(), "quay.io/acme/g");
}

// Proves errors name file, line, column and the YAML path, and nothing
// partial is returned.
TEST(HarnessPipeline, ErrorsAreLocated) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"pipeline:\n  stages:\n    stage: {}\n", "p.yaml:3:5: pipeline.stages: expected a list"},
      {"hello: world\n", "p.yaml:1:1: not a Harness pipeline"},
      {"- step:\n    type: Plugin\n    spec:\n      privileged: maybe\n      image: plugins/docker\n",
       "p.yaml:4:19: [0].step.spec.privileged: expected true or false"},
      {"- step: {type: BuildAndPushECR, spec: {region: us-east-1}}\n",
       "[0].step.spec.account: required for BuildAndPushECR"},
      {"pipeline:\n  stages:\n    - stage: {identifier: b, type: CI, spec: {infrastructure: {useFromStage: a}, execution: {steps: []}}}\n",
       "useFromStage: no CI stage \"a\" before this one"},
      {"- step: {type: Plugin, spec: {image: x, runAsUser: -1}}\n", "expected a user id"},
  };
  for (const Case& c : cases) {
    auto doc = ReadHarnessPipeline(c.text, "p.yaml");
    ASSERT_FALSE(doc.ok()) << c.text;
    EXPECT_TRUE(absl::StrContains(doc.status().message(), c.error))
        << doc.status().message() << "\n  wanted: " << c.error;
  }
}

// Proves fail closed on shapes buildgate cannot read (issue 21): an empty
// list, a list item, a stages[] item or a steps[] item that is none of
// Harness's is an error, never a clean document; and a key given twice
// anywhere is an error naming both places (PyYAML and SnakeYAML read the
// last `spec`, yaml-cpp the first: a parser differential is a bypass).
TEST(HarnessPipeline, RefusesWhatIsNotAHarnessEntity) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"[]\n", "p.yaml:1:1: an empty list is not a Harness pipeline, stage or step"},
      {"- foo: bar\n", "p.yaml:1:3: [0]: expected `step:`, `stepGroup:` or `parallel:`"},
      {"- step: {type: Run, identifier: a, spec: {command: make}}\n- foo: bar\n",
       "p.yaml:2:3: [1]: expected `step:`, `stepGroup:` or `parallel:`"},
      {"pipeline:\n  stages:\n    - stge: {identifier: b}\n",
       "p.yaml:3:7: pipeline.stages[0]: expected `stage:` or `parallel:`"},
      {"pipeline:\n  stages:\n    - stage:\n        identifier: b\n        type: CI\n"
       "        spec:\n          execution:\n            steps:\n              - setp: {type: Run}\n",
       "p.yaml:9:17: pipeline.stages[0].stage.spec.execution.steps[0]: expected `step:`, "
       "`stepGroup:` or `parallel:`"},
      {"- step:\n    type: Plugin\n    identifier: twice\n    spec:\n      image: plugins/buildah-docker:1.1.0-linux-amd64\n"
       "      privileged: false\n    spec:\n      image: plugins/buildx:1.1.0\n      privileged: true\n",
       "p.yaml:7:5: [0].step.spec: field given twice (first at line 4, column 5)"},
      {"pipeline:\n  identifier: a\n  identifier: b\n  stages: []\n",
       "p.yaml:3:3: pipeline.identifier: field given twice (first at line 2, column 3)"},
      {"{\"pipeline\": {\"stages\": [], \"stages\": []}}\n",
       "pipeline.stages: field given twice"},
  };
  for (const Case& c : cases) {
    auto doc = ReadHarnessPipeline(c.text, "p.yaml");
    ASSERT_FALSE(doc.ok()) << c.text;
    EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(doc.status().message(), c.error))
        << doc.status().message() << "\n  wanted: " << c.error;
  }
}

// Proves a Run step that names an image is listed even when its command
// builds nothing (lint decides whether the image is an image builder), and
// one that names none is not; a plaintext password is never kept.
TEST(HarnessPipeline, RunStepImagesAndRedactedPasswords) {
  const PipelineDocument doc = Read(R"(- step: {type: Run, identifier: a, spec: {image: "quay.io/buildah/stable:v1.37", command: ./make-image.sh}}
- step: {type: Run, identifier: b, spec: {command: make test}}
- step: {type: Plugin, identifier: c, spec: {image: plugins/buildah-docker:1.1.0-linux-amd64, settings: {repo: acme/c, username: bot, password: Hunter2-plaintext}}}
- step: {type: Plugin, identifier: d, spec: {image: plugins/buildah-docker:1.1.0-linux-amd64, settings: {repo: acme/d, password: <+secrets.getValue("hub")>}}}
)");
  ASSERT_EQ(doc.builds.size(), 3u);
  EXPECT_EQ(doc.builds[0].step_id, "a");
  EXPECT_EQ(doc.builds[0].build_command, "");
  EXPECT_EQ(doc.builds[0].run_image, "quay.io/buildah/stable:v1.37");
  EXPECT_EQ(doc.builds[1].build_step.credentials().password(), "[REDACTED]");
  EXPECT_EQ(doc.builds[1].build_step.credentials().username(), "bot");
  EXPECT_EQ(doc.builds[2].build_step.credentials().password(), "<+secrets.getValue(\"hub\")>");
}

// Proves Harness's identifier rule and its sanitizer.
TEST(HarnessPipeline, Identifiers) {
  EXPECT_TRUE(IsHarnessIdentifier("build_and_push$1"));
  EXPECT_FALSE(IsHarnessIdentifier("buildah plugin"));
  EXPECT_FALSE(IsHarnessIdentifier("1st"));
  EXPECT_FALSE(IsHarnessIdentifier(std::string(129, 'a')));
  EXPECT_EQ(SanitizeHarnessIdentifier("buildah plugin"), "buildah_plugin");
  EXPECT_EQ(SanitizeHarnessIdentifier("1st-step"), "_1st_step");
  EXPECT_TRUE(IsHarnessIdentifier(SanitizeHarnessIdentifier("ü-ß build")));
}

// A .harness/-like file of several documents: a pipeline, an input set, an
// empty document and a Stage template.
constexpr char kDocuments[] = R"(# the pipeline
pipeline:
  identifier: p
  stages:
    - stage:
        identifier: s
        type: CI
        spec:
          execution:
            steps:
              - step: {type: Plugin, identifier: first, spec: {image: plugins/docker}}
---
inputSet:
  identifier: dev
--- # nothing here
...
%YAML 1.2
---
template:
  identifier: t
  type: Stage
  spec:
    type: CI
    spec:
      execution:
        steps:
          - step:
              type: Plugin
              identifier: second
              spec: {image: plugins/docker}
)";

// Proves every document of a file is read on its own, its builds located
// by the file's lines, columns and byte offsets, and each document listed
// with what it is; the file is skipped only when no document is linted.
TEST(HarnessPipeline, EveryDocumentOfAFile) {
  const PipelineDocument doc = Read(kDocuments);
  ASSERT_EQ(doc.builds.size(), 2u);
  EXPECT_EQ(doc.builds[0].step_id, "first");
  EXPECT_EQ(doc.builds[0].location.line, 11);
  EXPECT_EQ(doc.builds[1].step_id, "second");
  EXPECT_EQ(doc.builds[1].location.line, 27);
  EXPECT_EQ(doc.builds[1].location.column, 13);
  EXPECT_EQ(doc.builds[1].location.yaml_path, "template.spec.spec.execution.steps[0].step");
  EXPECT_EQ(doc.builds[1].from_template, "Stage template t");
  // Edit points are offsets into the whole file.
  const TextPoint& key = doc.builds[1].edit_points.step.keys.at("identifier");
  EXPECT_EQ(std::string(kDocuments).substr(key.offset, 17), "identifier: secon");
  EXPECT_EQ(doc.steps_seen, 2);
  EXPECT_EQ(doc.skipped, "");
  ASSERT_EQ(doc.documents.size(), 4u);
  const std::pair<int, const char*> expected[] = {
      {1, "pipeline"}, {12, "input set"}, {15, "empty document"}, {17, "Stage template t"}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(doc.documents[i].line, expected[i].first) << i;
    EXPECT_EQ(doc.documents[i].what, expected[i].second) << i;
    EXPECT_EQ(doc.documents[i].linted, i == 0 || i == 3) << i;
  }
  // A file of skipped documents only is skipped, each named.
  const PipelineDocument others =
      Read("---\ntrigger: {identifier: pr}\n---\ninputSet: {identifier: dev}\n");
  EXPECT_EQ(others.skipped, "trigger; input set");
  ASSERT_EQ(others.documents.size(), 2u);
  EXPECT_EQ(others.documents[1].line, 3);
  // One leading `---` is one document, as before.
  EXPECT_EQ(Read("---\ntrigger: {identifier: pr}\n").skipped, "trigger");
  // `...` ends a document: text after it is the next one (YAML needs no
  // `---` there); comments after it are none.
  const PipelineDocument ended =
      Read("trigger: {identifier: pr}\n...\ninputSet: {identifier: a}\n");
  EXPECT_EQ(ended.skipped, "trigger; input set");
  ASSERT_EQ(ended.documents.size(), 2u);
  EXPECT_EQ(ended.documents[1].line, 3);
  EXPECT_EQ(Read("trigger: {identifier: pr}\n...\n# the end\n").documents.size(), 1u);
  EXPECT_EQ(Read("").documents.size(), 1u);
  EXPECT_EQ(Read("").skipped, "empty document");
}

// Proves a malformed document fails its file, located in the file and
// naming the document, whichever document it is: never a silent pass.
TEST(HarnessPipeline, MalformedDocumentIsAnError) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"trigger: {identifier: pr}\n---\npipeline:\n  stages:\n    stage: {}\n",
       "p.yaml:5:5: pipeline.stages: expected a list (document 2 of 2, from line 2)"},
      {"pipeline: {identifier: p, stages: []}\n---\nhello: world\n---\ntrigger: {}\n",
       "p.yaml:3:1: not a Harness pipeline"},
      {"inputSet: {identifier: a}\n---\nkey: [unclosed\n", "p.yaml:4:1: "},
      {"trigger: {}\n---\na: 1\na: 2\n", "p.yaml:4:1: a: field given twice (first at line 3"},
  };
  for (const Case& c : cases) {
    auto doc = ReadHarnessPipeline(c.text, "p.yaml");
    ASSERT_FALSE(doc.ok()) << c.text;
    EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(doc.status().message(), c.error))
        << doc.status().message() << "\n  wanted: " << c.error;
    EXPECT_TRUE(absl::StrContains(doc.status().message(), "(document ")) << doc.status();
  }
}

// Proves the input limits hold over the whole file: at most
// kMaxDocumentsPerFile documents, and the YAML node limit counts the nodes
// of every document together.
TEST(HarnessPipeline, DocumentsAreBounded) {
  std::string many;
  for (int i = 0; i <= kMaxDocumentsPerFile; ++i) many += "---\ntrigger: {identifier: t}\n";
  auto too_many = ReadHarnessPipeline(many, "p.yaml");
  ASSERT_FALSE(too_many.ok());
  EXPECT_TRUE(
      absl::StrContains(too_many.status().message(),
                        absl::StrCat("p.yaml:", 2 * kMaxDocumentsPerFile + 1, ":1: more than ",
                                     kMaxDocumentsPerFile, " YAML documents")))
      << too_many.status();
  std::string enough;
  for (int i = 0; i < kMaxDocumentsPerFile; ++i) enough += "---\ntrigger: {identifier: t}\n";
  EXPECT_TRUE(ReadHarnessPipeline(enough, "p.yaml").ok());

  InputLimits limits;
  limits.max_yaml_nodes = 10;
  const std::string one = "trigger: {identifier: t, type: Webhook}\n";  // 7 nodes.
  EXPECT_TRUE(ReadHarnessPipeline(one, "p.yaml", limits).ok());
  auto both = ReadHarnessPipeline(one + "---\n" + one, "p.yaml", limits);
  ASSERT_FALSE(both.ok());
  EXPECT_TRUE(absl::StrContains(both.status().message(), "max_yaml_nodes")) << both.status();
  EXPECT_TRUE(absl::StrContains(both.status().message(),
                                "(document 2 of 2, from line 2; the documents of a file hold at "
                                "most 10 YAML nodes together)"))
      << both.status();
}

}  // namespace
}  // namespace buildgate::pipeline
