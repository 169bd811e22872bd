// What a build inherits from where it runs
// (pipeline/internal/infrastructure.h): infrastructure by type,
// useFromStage, step group infrastructure, security context, variables.
#include "pipeline/internal/infrastructure.h"

#include "gtest/gtest.h"

namespace buildgate::pipeline::internal {
namespace {

constexpr char kKubernetesStageSpec[] = R"(platform: {os: Linux, arch: Arm64}
infrastructure:
  type: KubernetesDirect
  spec:
    runAsUser: "3000"
    containerSecurityContext:
      runAsNonRoot: true
      privileged: <+input>
      allowPrivilegeEscalation: false
      capabilities: {add: [SETUID], drop: [ALL]}
)";

// Proves a security context of blank fields (as Harness's UI writes a field
// left empty) is no context, the same as none; an explicit false is kept.
TEST(Infrastructure, BlankSecurityContextIsNone) {
  const FieldReader fields("p.yaml");
  InfrastructureResolver resolver(fields);
  auto blank = resolver.ReadStage(YAML::Load(R"(infrastructure:
  type: KubernetesDirect
  spec:
    containerSecurityContext: {runAsUser: "", privileged: "", runAsNonRoot: ""}
)"), "stage.spec");
  ASSERT_TRUE(blank.ok()) << blank.status();
  EXPECT_FALSE((*blank)->context.has_value());
  EXPECT_TRUE((*blank)->context_points.is_mapping) << "a fix still adds keys to it";
  auto explicit_false = resolver.ReadStage(YAML::Load(R"(infrastructure:
  type: KubernetesDirect
  spec:
    containerSecurityContext: {runAsUser: "", allowPrivilegeEscalation: false}
)"), "stage.spec");
  ASSERT_TRUE(explicit_false.ok()) << explicit_false.status();
  ASSERT_TRUE((*explicit_false)->context.has_value());
  EXPECT_TRUE((*explicit_false)->context->has_allow_privilege_escalation());
  EXPECT_FALSE((*explicit_false)->context->has_run_as_user());
}

// Proves a KubernetesDirect infrastructure is read: architecture, security
// context (runAsUser from the pod spec), capabilities, and an expression
// left unresolved.
TEST(Infrastructure, ReadsKubernetesDirect) {
  const FieldReader fields("p.yaml");
  InfrastructureResolver resolver(fields);
  const YAML::Node spec = YAML::Load(kKubernetesStageSpec);
  auto infra = resolver.ReadStage(spec, "stage.spec");
  ASSERT_TRUE(infra.ok()) << infra.status();
  const Infrastructure& i = **infra;
  EXPECT_TRUE(i.described);
  EXPECT_EQ(i.arch, v1::ARCH_ARM64);
  EXPECT_EQ(i.os, "");
  ASSERT_TRUE(i.context.has_value());
  EXPECT_TRUE(i.context->run_as_non_root());
  EXPECT_EQ(i.context->run_as_user(), 3000);
  EXPECT_FALSE(i.context->has_privileged());
  EXPECT_FALSE(i.context->allow_privilege_escalation());
  EXPECT_EQ(i.context->capabilities().drop(0), "ALL");
  ASSERT_EQ(i.unresolved.size(), 1u);
  EXPECT_EQ(i.unresolved[0].field, "infrastructure.containerSecurityContext.privileged");
  EXPECT_TRUE(i.context_points.is_mapping);
  EXPECT_EQ(i.context_points.start.line, 6);  // `runAsNonRoot`, 0-based.
}

// Proves useFromStage copies an earlier stage's infrastructure, and naming
// a stage not read before is an error at the name.
TEST(Infrastructure, UseFromStage) {
  const FieldReader fields("p.yaml");
  InfrastructureResolver resolver(fields);
  auto first = resolver.ReadStage(YAML::Load(kKubernetesStageSpec), "a.spec");
  ASSERT_TRUE(first.ok());
  resolver.RememberStage("a", *first);
  auto second = resolver.ReadStage(YAML::Load("infrastructure: {useFromStage: a}"), "b.spec");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->context->run_as_user(), 3000);
  EXPECT_EQ((*second)->arch, v1::ARCH_ARM64);
  EXPECT_EQ((*second)->unresolved.size(), 1u);
  auto missing = resolver.ReadStage(YAML::Load("infrastructure: {useFromStage: c}"), "c.spec");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "p.yaml:1:32: c.spec.infrastructure.useFromStage: no CI stage \"c\" before this one");
}

// Proves an infrastructure type buildgate does not read yet describes
// nothing (it is no error), and an expression as the whole infrastructure
// is unresolved.
TEST(Infrastructure, OtherTypesAndExpressions) {
  const FieldReader fields("p.yaml");
  InfrastructureResolver resolver(fields);
  auto cloud =
      resolver.ReadStage(YAML::Load("platform: {os: Windows}\nruntime: {type: Cloud, spec: {}}\n"
                                    "infrastructure: {type: VM, spec: {type: Pool}}"),
                         "s.spec");
  ASSERT_TRUE(cloud.ok());
  EXPECT_FALSE((*cloud)->described);
  EXPECT_FALSE((*cloud)->context.has_value());
  EXPECT_EQ((*cloud)->os, "Windows");
  auto input = resolver.ReadStage(YAML::Load("infrastructure: <+input>"), "s.spec");
  ASSERT_TRUE(input.ok());
  ASSERT_EQ((*input)->unresolved.size(), 1u);
  EXPECT_EQ((*input)->unresolved[0].field, "infrastructure");
  auto arch = resolver.ReadStage(YAML::Load("platform: {arch: <+input>}"), "s.spec");
  ASSERT_TRUE(arch.ok());
  EXPECT_TRUE((*arch)->arch_unknown);
  EXPECT_EQ((*arch)->unresolved[0].kind, UnknownValue::kArch);
  auto bad = resolver.ReadStage(YAML::Load("platform: {arch: s390x}"), "s.spec");
  EXPECT_EQ(bad.status().message(),
            "p.yaml:1:18: s.spec.platform.arch: unknown architecture \"s390x\" (Amd64 or Arm64)");
}

// Proves a step group's stepGroupInfra is read like a stage's, and must be
// a mapping.
TEST(Infrastructure, StepGroupInfrastructure) {
  const FieldReader fields("p.yaml");
  InfrastructureResolver resolver(fields);
  auto group = resolver.ReadStepGroup(
      YAML::Load("type: KubernetesDirect\nspec:\n  nodeSelector: {kubernetes.io/arch: amd64}\n"
                 "  containerSecurityContext: {runAsUser: 2000}\n"),
      "g.stepGroupInfra");
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ((*group)->arch, v1::ARCH_AMD64);
  EXPECT_EQ((*group)->context->run_as_user(), 2000);
  EXPECT_TRUE((*group)->context_points.flow_style);
  EXPECT_EQ(resolver.ReadStepGroup(YAML::Load("[a]"), "g.stepGroupInfra").status().message(),
            "p.yaml:1:1: g.stepGroupInfra: expected a mapping");
}

// Proves variables: later levels override, secrets are never read, and
// each value says where it was set.
TEST(Infrastructure, Variables) {
  const FieldReader fields("p.yaml");
  Variables variables;
  ASSERT_TRUE(
      ReadVariables(fields,
                    YAML::Load("variables:\n  - {name: PLUGIN_DRY_RUN, type: String, value: "
                               "\"false\"}\n  - {name: TOKEN, type: Secret, value: x}\n"),
                    "pipeline", "pipeline", &variables)
          .ok());
  ASSERT_TRUE(ReadVariables(fields,
                            YAML::Load("variables: [{name: PLUGIN_DRY_RUN, type: String, value: "
                                       "\"true\"}]"),
                            "s", "stage", &variables)
                  .ok());
  EXPECT_EQ(variables.count("TOKEN"), 0u);
  EXPECT_EQ(variables["PLUGIN_DRY_RUN"].value, "true");
  EXPECT_EQ(variables["PLUGIN_DRY_RUN"].field, "stage.variables.PLUGIN_DRY_RUN");
  EXPECT_EQ(
      ReadVariables(fields, YAML::Load("variables: {a: b}"), "s", "stage", &variables).message(),
      "p.yaml:1:12: s.variables: expected a list of {name, type, value}");
}

// Proves what a build takes from its infrastructure.
TEST(Infrastructure, AppliedToABuild) {
  const FieldReader fields("p.yaml");
  InfrastructureResolver resolver(fields);
  auto infra = resolver.ReadStage(YAML::Load(kKubernetesStageSpec), "s.spec");
  ASSERT_TRUE(infra.ok());
  FoundBuild build;
  ApplyInfrastructure(**infra, &build);
  EXPECT_EQ(build.build_step.arch(), v1::ARCH_ARM64);
  EXPECT_EQ(build.build_step.infrastructure().container_security_context().run_as_user(), 3000);
  EXPECT_EQ(build.unresolved.size(), 1u);
  EXPECT_TRUE(build.edit_points.security_context.is_mapping);
  EXPECT_EQ(build.edit_points.security_context.values.count("privileged"), 1u);
}

}  // namespace
}  // namespace buildgate::pipeline::internal
