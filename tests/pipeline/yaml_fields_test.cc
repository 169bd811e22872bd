// Reading one located field (pipeline/internal/yaml_fields.h): values,
// expressions left unresolved, errors worded "FILE:LINE:COLUMN: PATH: what".
#include "pipeline/internal/yaml_fields.h"

#include "gtest/gtest.h"

namespace buildgate::pipeline::internal {
namespace {

// Proves text is read as written, absent or null is "", and a list is an
// error at the list with the field's path.
TEST(YamlFields, TextReadsScalarsAndRefusesLists) {
  const YAML::Node map = YAML::Load("a: hello\nb:\nc: [1, 2]\n");
  const FieldReader fields("p.yaml");
  EXPECT_EQ(*fields.Text(map, "a", "root"), "hello");
  EXPECT_EQ(*fields.Text(map, "b", "root"), "");
  EXPECT_EQ(*fields.Text(map, "missing", "root"), "");
  const auto list = fields.Text(map, "c", "root");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().message(), "p.yaml:3:4: root.c: expected a single value");
  EXPECT_EQ(fields.Text(map, "c", "").status().message(), "p.yaml:3:4: c: expected a single value");
}

// Proves true/false in any case, an expression unresolved (never false),
// and anything else an error quoting the value.
TEST(YamlFields, BoolNeverReadsAnExpressionAsFalse) {
  const YAML::Node map = YAML::Load("yes: TRUE\nno: false\nlater: <+input>\nbad: maybe\n");
  const FieldReader fields("p.yaml");
  std::vector<Unresolved> unresolved;
  EXPECT_EQ(*fields.Bool(map, "yes", "s", "spec.yes", &unresolved), true);
  EXPECT_EQ(*fields.Bool(map, "no", "s", "spec.no", &unresolved), false);
  EXPECT_FALSE(fields.Bool(map, "missing", "s", "spec.missing", &unresolved)->has_value());
  EXPECT_TRUE(unresolved.empty());
  EXPECT_FALSE(fields.Bool(map, "later", "s", "spec.later", &unresolved, UnknownValue::kCaching)
                   ->has_value());
  ASSERT_EQ(unresolved.size(), 1u);
  EXPECT_EQ(unresolved[0].field, "spec.later");
  EXPECT_EQ(unresolved[0].value, "<+input>");
  EXPECT_EQ(unresolved[0].kind, UnknownValue::kCaching);
  EXPECT_EQ(fields.Bool(map, "bad", "s", "spec.bad", &unresolved).status().message(),
            "p.yaml:4:6: s.bad: expected true or false, not \"maybe\"");
}

// Proves user ids from 0 to kMaxUid, as numbers or strings; out of range
// is an error.
TEST(YamlFields, UidIsAUserIdInRange) {
  const YAML::Node map =
      YAML::Load("a: 1000\nb: \"0\"\nc: -1\nd: 2147483648\ne: <+pipeline.variables.UID>\n");
  const FieldReader fields("p.yaml");
  std::vector<Unresolved> unresolved;
  EXPECT_EQ(**fields.Uid(map, "a", "", "a", &unresolved), 1000);
  EXPECT_EQ(**fields.Uid(map, "b", "", "b", &unresolved), 0);
  EXPECT_FALSE(fields.Uid(map, "c", "", "c", &unresolved).ok());
  EXPECT_EQ(fields.Uid(map, "d", "", "d", &unresolved).status().message(),
            "p.yaml:4:4: d: expected a user id from 0 to 2147483647, not \"2147483648\"");
  EXPECT_FALSE(fields.Uid(map, "e", "", "e", &unresolved)->has_value());
  ASSERT_EQ(unresolved.size(), 1u);
  EXPECT_EQ(unresolved[0].field, "e");
}

// Proves locations are 1-based and paths join with dots.
TEST(YamlFields, LocationsAndPaths) {
  const YAML::Node root = YAML::Load("a:\n  b: c\n");
  const Location at = FieldReader("p.yaml").At(root["a"], "a");
  EXPECT_EQ(at.line, 2);
  EXPECT_EQ(at.column, 3);
  EXPECT_EQ(at.yaml_path, "a");
  EXPECT_EQ(JoinPath("", "a"), "a");
  EXPECT_EQ(JoinPath("a", "b"), "a.b");
}

// Proves identifiers as the engine takes them: expressions dropped, those
// Harness refuses sanitized and listed.
TEST(YamlFields, EngineIdentifier) {
  std::vector<Unresolved> invalid;
  EXPECT_EQ(EngineIdentifier("build", "identifier", &invalid), "build");
  EXPECT_EQ(EngineIdentifier("<+input>", "identifier", &invalid), "");
  EXPECT_EQ(EngineIdentifier("", "identifier", &invalid), "");
  EXPECT_TRUE(invalid.empty());
  EXPECT_EQ(EngineIdentifier("my step", "identifier", &invalid), "my_step");
  ASSERT_EQ(invalid.size(), 1u);
  EXPECT_EQ(invalid[0].field, "identifier");
  EXPECT_EQ(invalid[0].value, "my step");
  EXPECT_EQ(EngineIdentifier("1st", "pipeline.identifier", nullptr), "_1st");
}

// Proves HasMatrix looks for strategy.matrix only.
TEST(YamlFields, HasMatrix) {
  EXPECT_TRUE(HasMatrix(YAML::Load("strategy: {matrix: {a: [1]}}")));
  EXPECT_FALSE(HasMatrix(YAML::Load("strategy: {parallelism: 2}")));
  EXPECT_FALSE(HasMatrix(YAML::Load("identifier: x")));
}

}  // namespace
}  // namespace buildgate::pipeline::internal

namespace buildgate::pipeline::internal {
namespace {

// Proves a matrix with its axes written out gives each combination once,
// `exclude`d ones removed, a stage's and a step's multiplied; an axis from
// an expression is no literal matrix; past the bound there are none.
TEST(LiteralMatrix, CombinationsWithExcludeAndBound) {
  auto step = ReadLiteralMatrix(YAML::Load(
      "strategy:\n  matrix:\n    image: ['', -gcr]\n    repo: [docker, gcr]\n"
      "    maxConcurrency: 2\n    exclude:\n      - {image: '', repo: gcr}\n"
      "      - {image: -gcr, repo: docker}\n"));
  ASSERT_TRUE(step.has_value());
  auto stage = ReadLiteralMatrix(YAML::Load("strategy: {matrix: {os: [linux, windows]}}"));
  ASSERT_TRUE(stage.has_value());
  auto combinations = MatrixCombinations({*stage, *step}, 64);
  ASSERT_TRUE(combinations.has_value());
  using C = std::map<std::string, std::string>;
  EXPECT_EQ(*combinations, (std::vector<C>{{{"os", "linux"}, {"image", ""}, {"repo", "docker"}},
                                           {{"os", "linux"}, {"image", "-gcr"}, {"repo", "gcr"}},
                                           {{"os", "windows"}, {"image", ""}, {"repo", "docker"}},
                                           {{"os", "windows"}, {"image", "-gcr"}, {"repo", "gcr"}}}));
  EXPECT_FALSE(MatrixCombinations({*stage, *step}, 7).has_value()) << "8 before exclude";
  EXPECT_FALSE(ReadLiteralMatrix(YAML::Load("strategy: {matrix: {a: <+input>}}")).has_value());
  EXPECT_FALSE(ReadLiteralMatrix(YAML::Load("strategy: {matrix: {a: [x, <+stage.v>]}}")));
  EXPECT_FALSE(ReadLiteralMatrix(YAML::Load("strategy: {matrix: <+input>}")).has_value());
  EXPECT_FALSE(ReadLiteralMatrix(YAML::Load("strategy: {parallelism: 3}")).has_value());
}

}  // namespace
}  // namespace buildgate::pipeline::internal
