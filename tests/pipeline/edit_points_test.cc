// Where a fix may edit a found build (pipeline/edit_points.h, read by
// pipeline/internal/edit_point_reader.h): offsets, lines and columns of
// keys and values, block or flow style, the stage's variables.
#include "gtest/gtest.h"
#include "pipeline/harness_pipeline.h"
#include "pipeline/internal/edit_point_reader.h"

namespace buildgate::pipeline::internal {
namespace {

constexpr char kStage[] = R"(stage:
  identifier: s
  type: CI
  variables:
    - name: OTHER
      type: String
      value: "x"
    - name: PLUGIN_DRY_RUN
      type: String
      value: 'false'
    - name: EMPTY
      type: String
  spec:
    execution:
      steps:
        - step:
            type: Plugin
            identifier: "b"
            spec:
              image: plugins/buildah-docker:1.1.0-linux-amd64  # pinned
              settings: {repo: acme/app}
)";

// The 0-based offset of the first `needle` in `text`.
std::size_t OffsetOf(absl::string_view text, absl::string_view needle) { return text.find(needle); }

// Proves a block mapping's start (its first key, where a new key goes),
// each key's place and each value's start, a quoted value at its quote,
// and non-scalar values marked as such.
TEST(EditPoints, BlockMapping) {
  auto doc = ReadHarnessPipeline(kStage, "p.yaml");
  ASSERT_TRUE(doc.ok()) << doc.status();
  ASSERT_EQ(doc->builds.size(), 1u);
  const StepEditPoints& points = doc->builds[0].edit_points;
  const std::string text = kStage;

  EXPECT_TRUE(points.step.is_mapping);
  EXPECT_FALSE(points.step.flow_style);
  EXPECT_EQ(points.step.start.offset, OffsetOf(text, "type: Plugin"));
  EXPECT_EQ(points.step.start.line, 16);
  EXPECT_EQ(points.step.start.column, 12);
  EXPECT_EQ(points.step.values.at("identifier").start.offset, OffsetOf(text, "\"b\""));
  EXPECT_TRUE(points.step.values.at("identifier").is_scalar);
  EXPECT_FALSE(points.step.values.at("spec").is_scalar);
  EXPECT_EQ(points.step.keys.at("spec").offset, OffsetOf(text, "spec:\n              image"));
  EXPECT_EQ(points.step.keys.at("spec").column, 12);

  EXPECT_TRUE(points.spec.is_mapping);
  EXPECT_EQ(points.spec.start.column, 14);
  EXPECT_EQ(points.spec.values.at("image").start.offset, OffsetOf(text, "plugins/buildah"));
  EXPECT_EQ(points.spec.values.count("privileged"), 0u);
  EXPECT_FALSE(points.spec.values.at("settings").is_scalar);

  EXPECT_TRUE(points.stage.is_mapping);
  EXPECT_EQ(points.stage.keys.at("spec").offset, OffsetOf(text, "spec:\n    execution"));
  EXPECT_EQ(points.stage.keys.at("spec").column, 2);

  // A step fragment runs on no infrastructure described here.
  EXPECT_FALSE(points.security_context.is_mapping);
}

// Proves a stage's block variables list: where its first item's '-' is,
// each item's name and value (quoted values at their quote), an item
// without a value.
TEST(EditPoints, StageVariables) {
  auto doc = ReadHarnessPipeline(kStage, "p.yaml");
  ASSERT_TRUE(doc.ok()) << doc.status();
  const VariableListPoints& vars = doc->builds[0].edit_points.stage_variables;
  const std::string text = kStage;
  EXPECT_TRUE(vars.present);
  EXPECT_TRUE(vars.block_list);
  EXPECT_EQ(vars.first_item.offset, OffsetOf(text, "- name: OTHER"));
  EXPECT_EQ(vars.first_item.column, 4);
  ASSERT_EQ(vars.items.size(), 3u);
  EXPECT_EQ(vars.items[1].name, "PLUGIN_DRY_RUN");
  EXPECT_TRUE(vars.items[1].has_value);
  EXPECT_EQ(vars.items[1].value.start.offset, OffsetOf(text, "'false'"));
  EXPECT_EQ(vars.items[2].name, "EMPTY");
  EXPECT_FALSE(vars.items[2].has_value);
}

// Proves flow style (JSON) is marked, and a flow variables list is present
// but no block list.
TEST(EditPoints, FlowStyle) {
  const YAML::Node node = YAML::Load("{a: 1, b: [2]}");
  const MappingPoints points = MappingPointsOf(node);
  EXPECT_TRUE(points.is_mapping);
  EXPECT_TRUE(points.flow_style);
  EXPECT_EQ(points.values.at("a").start.offset, 4u);
  EXPECT_FALSE(points.values.at("b").is_scalar);
  const VariableListPoints flow = VariableListPointsOf(YAML::Load("[{name: A, value: b}]"));
  EXPECT_TRUE(flow.present);
  EXPECT_FALSE(flow.block_list);
  EXPECT_TRUE(flow.items.empty());
}

// Proves what is no mapping, or absent, has no points.
TEST(EditPoints, AbsentOrNoMapping) {
  EXPECT_FALSE(MappingPointsOf(YAML::Node()).is_mapping);
  EXPECT_FALSE(MappingPointsOf(YAML::Load("[1]")).is_mapping);
  EXPECT_FALSE(MappingPointsOf(YAML::Load("a: 1")["missing"]).is_mapping);
  EXPECT_FALSE(VariableListPointsOf(YAML::Node()).present);
  EXPECT_FALSE(VariableListPointsOf(YAML::Load("a: 1")["missing"]).present);
  const YAML::Node null_value = YAML::Load("variables:\n")["variables"];
  EXPECT_FALSE(VariableListPointsOf(null_value).present);
}

// Proves the security context's points come with a Plugin step run on a
// Kubernetes infrastructure.
TEST(EditPoints, SecurityContext) {
  const std::string text = R"(stage:
  identifier: s
  type: CI
  spec:
    infrastructure:
      type: KubernetesDirect
      spec:
        containerSecurityContext:
          runAsUser: "2000"
    execution:
      steps:
        - step: {type: Plugin, identifier: b, spec: {image: plugins/docker}}
)";
  auto doc = ReadHarnessPipeline(text, "p.yaml");
  ASSERT_TRUE(doc.ok()) << doc.status();
  const MappingPoints& ctx = doc->builds[0].edit_points.security_context;
  EXPECT_TRUE(ctx.is_mapping);
  EXPECT_EQ(ctx.start.offset, text.find("runAsUser"));
  EXPECT_EQ(ctx.start.column, 10);
  EXPECT_EQ(ctx.values.at("runAsUser").start.offset, text.find("\"2000\""));
  EXPECT_TRUE(doc->builds[0].edit_points.step.flow_style);
}

}  // namespace
}  // namespace buildgate::pipeline::internal
