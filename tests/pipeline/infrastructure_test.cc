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
  EXPECT_EQ(i.type, v1::INFRASTRUCTURE_TYPE_KUBERNETES);
  EXPECT_EQ(i.arch, v1::ARCH_ARM64);
  EXPECT_EQ(i.os, v1::OPERATING_SYSTEM_LINUX);
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

// Proves each place a CI stage can run is read as its type with its OS
// and architecture: Harness Cloud and a local Docker runner from `runtime`
// and `platform`, a VM pool from the pool's `os`; none of them has a
// security context.
TEST(Infrastructure, ReadsEveryInfrastructureType) {
  const FieldReader fields("p.yaml");
  InfrastructureResolver resolver(fields);
  struct Case {
    const char* yaml;
    v1::InfrastructureType type;
    v1::OperatingSystem os;
    v1::Arch arch;
  };
  const Case cases[] = {
      {"platform: {os: Linux, arch: Arm64}\nruntime: {type: Cloud, spec: {}}",
       v1::INFRASTRUCTURE_TYPE_HARNESS_CLOUD, v1::OPERATING_SYSTEM_LINUX, v1::ARCH_ARM64},
      {"platform: {os: Windows, arch: Amd64}\nruntime: {type: Cloud, spec: {}}",
       v1::INFRASTRUCTURE_TYPE_HARNESS_CLOUD, v1::OPERATING_SYSTEM_WINDOWS, v1::ARCH_AMD64},
      {"platform: {os: MacOS, arch: Arm64}\nruntime: {type: Cloud, spec: {}}",
       v1::INFRASTRUCTURE_TYPE_HARNESS_CLOUD, v1::OPERATING_SYSTEM_MACOS, v1::ARCH_ARM64},
      {"platform: {os: Linux, arch: Amd64}\nruntime: {type: Docker, spec: {}}",
       v1::INFRASTRUCTURE_TYPE_LOCAL_DOCKER, v1::OPERATING_SYSTEM_LINUX, v1::ARCH_AMD64},
      // The pool's os, as the real drone-plugins pipelines write it.
      {"infrastructure:\n  type: VM\n  spec:\n    type: Pool\n    spec: {poolName: windows-2019, "
       "os: Windows}",
       v1::INFRASTRUCTURE_TYPE_VM, v1::OPERATING_SYSTEM_WINDOWS, v1::ARCH_UNSPECIFIED},
      {"infrastructure: {type: VM, spec: {type: Pool, spec: {poolName: p, os: Linux}}}",
       v1::INFRASTRUCTURE_TYPE_VM, v1::OPERATING_SYSTEM_LINUX, v1::ARCH_UNSPECIFIED},
      {"infrastructure: {type: KubernetesDirect, spec: {os: Windows}}",
       v1::INFRASTRUCTURE_TYPE_KUBERNETES, v1::OPERATING_SYSTEM_WINDOWS, v1::ARCH_UNSPECIFIED},
      // No infrastructure said: the engine's default (Kubernetes).
      {"execution: {steps: []}", v1::INFRASTRUCTURE_TYPE_UNSPECIFIED,
       v1::OPERATING_SYSTEM_UNSPECIFIED, v1::ARCH_UNSPECIFIED},
  };
  for (const Case& c : cases) {
    auto infra = resolver.ReadStage(YAML::Load(c.yaml), "s.spec");
    ASSERT_TRUE(infra.ok()) << c.yaml << ": " << infra.status();
    EXPECT_EQ((*infra)->type, c.type) << c.yaml;
    EXPECT_EQ((*infra)->os, c.os) << c.yaml;
    EXPECT_EQ((*infra)->arch, c.arch) << c.yaml;
    EXPECT_FALSE((*infra)->context.has_value()) << c.yaml;
    EXPECT_TRUE((*infra)->unresolved.empty()) << c.yaml;
  }
}

// Proves useFromStage copies a Harness Cloud stage's type and platform too.
TEST(Infrastructure, UseFromStageCopiesCloud) {
  const FieldReader fields("p.yaml");
  InfrastructureResolver resolver(fields);
  auto cloud = resolver.ReadStage(
      YAML::Load("platform: {os: Windows, arch: Amd64}\nruntime: {type: Cloud, spec: {}}"), "a");
  ASSERT_TRUE(cloud.ok());
  resolver.RememberStage("a", *cloud);
  auto second = resolver.ReadStage(YAML::Load("infrastructure: {useFromStage: a}"), "b.spec");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->type, v1::INFRASTRUCTURE_TYPE_HARNESS_CLOUD);
  EXPECT_EQ((*second)->os, v1::OPERATING_SYSTEM_WINDOWS);
}

// Proves where a stage runs is never guessed: an expression as the
// infrastructure, its type, the runtime or the OS, and a step group
// infrastructure that is no build infrastructure, are unknown values of
// their kind; a type or OS Harness does not have is an error at the value.
TEST(Infrastructure, UnknownPlacesAndExpressions) {
  const FieldReader fields("p.yaml");
  InfrastructureResolver resolver(fields);
  struct Unknown {
    const char* yaml;
    const char* field;
    UnknownValue kind;
  };
  const Unknown unknowns[] = {
      {"infrastructure: <+input>", "infrastructure", UnknownValue::kInfrastructure},
      {"infrastructure: {type: <+input>}", "infrastructure.type", UnknownValue::kInfrastructure},
      {"runtime: {type: <+stage.variables.where>}", "runtime.type", UnknownValue::kInfrastructure},
      {"platform: {os: <+input>}\nruntime: {type: Cloud}", "platform.os", UnknownValue::kOs},
      {"infrastructure: {type: VM, spec: {type: Pool, spec: {os: <+input>}}}",
       "infrastructure.spec.spec.os", UnknownValue::kOs},
      {"platform: {arch: <+input>}", "platform.arch", UnknownValue::kArch},
  };
  for (const Unknown& u : unknowns) {
    auto infra = resolver.ReadStage(YAML::Load(u.yaml), "s.spec");
    ASSERT_TRUE(infra.ok()) << u.yaml << ": " << infra.status();
    ASSERT_EQ((*infra)->unresolved.size(), 1u) << u.yaml;
    EXPECT_EQ((*infra)->unresolved[0].field, u.field) << u.yaml;
    EXPECT_EQ((*infra)->unresolved[0].kind, u.kind) << u.yaml;
  }
  auto delegate = resolver.ReadStepGroup(YAML::Load("type: Delegate"), "g.stepGroupInfra");
  ASSERT_TRUE(delegate.ok());
  ASSERT_EQ((*delegate)->unresolved.size(), 1u);
  EXPECT_EQ((*delegate)->unresolved[0].kind, UnknownValue::kInfrastructure);
  EXPECT_EQ((*delegate)->unresolved[0].value, "Delegate");

  auto bad_arch = resolver.ReadStage(YAML::Load("platform: {arch: s390x}"), "s.spec");
  EXPECT_EQ(bad_arch.status().message(),
            "p.yaml:1:18: s.spec.platform.arch: unknown architecture \"s390x\" (Amd64 or Arm64)");
  auto bad_os = resolver.ReadStage(YAML::Load("platform: {os: Plan9}"), "s.spec");
  EXPECT_EQ(bad_os.status().message(),
            "p.yaml:1:16: s.spec.platform.os: unknown operating system \"Plan9\" (Linux, Windows "
            "or MacOS)");
  auto bad_runtime = resolver.ReadStage(YAML::Load("runtime: {type: Lambda}"), "s.spec");
  EXPECT_EQ(bad_runtime.status().message(),
            "p.yaml:1:17: s.spec.runtime.type: unknown runtime type \"Lambda\" (Cloud or Docker)");
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
