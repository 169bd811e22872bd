#include "input/yaml_document.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

// Proves a document loads with its nodes' positions, so readers of other
// documents (pipelines) can locate what they find.
TEST(LoadBoundedYaml, KeepsPositions) {
  auto root = LoadBoundedYaml(
      "pipeline:\n  stages:\n    - stage:\n        identifier: build_payments_api\n",
      "payments.yaml");
  ASSERT_TRUE(root.ok()) << root.status();
  const YAML::Node id = (*root)["pipeline"]["stages"][0]["stage"]["identifier"];
  EXPECT_EQ(id.as<std::string>(), "build_payments_api");
  EXPECT_EQ(id.Mark().line, 3);  // 0-based: the fourth line.
  EXPECT_EQ(id.Mark().column, 20);
}

// Proves the guards: a second document, an alias bomb, control bytes and an
// empty document are errors naming the source and position.
TEST(LoadBoundedYaml, RefusesHostileText) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'h'; ++c) {
    const char prev = static_cast<char>(c - 1);
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + "]\n";
  }
  const std::pair<std::string, std::string> cases[] = {
      {"a: 1\n---\nb: 2\n", "p.yaml:2:1: a second document"},
      {bomb, "p.yaml:"},  // And names max_yaml_nodes, checked below.
      {"a: \x01\n", "p.yaml:1:4: control character"},
      {"", "p.yaml: empty document"},
  };
  for (const auto& [text, want] : cases) {
    auto root = LoadBoundedYaml(text, "p.yaml");
    ASSERT_FALSE(root.ok()) << want;
    EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(root.status().message(), want)) << root.status();
    if (text == bomb) {
      EXPECT_TRUE(absl::StrContains(root.status().message(), "max_yaml_nodes")) << root.status();
    }
  }
}

// Proves a mapping that holds a key twice is refused wherever it stands,
// naming the key's path and both places: parsers disagree on which value
// they read (yaml-cpp the first, PyYAML and SnakeYAML the last). Equal keys
// in different mappings, and list items, are not duplicates.
TEST(LoadBoundedYaml, RefusesDuplicateKeys) {
  const std::pair<std::string, std::string> refused[] = {
      {"a: 1\nb: 2\na: 3\n", "p.yaml:3:1: a: field given twice (first at line 1, column 1)"},
      {"top:\n  list:\n    - x: 1\n    - x: 1\n      x: 2\n",
       "p.yaml:5:7: top.list[1].x: field given twice (first at line 4, column 7)"},
      {"{\"a\": {\"b\": 1, \"b\": 2}}", "p.yaml:1:16: a.b: field given twice"},
      {"'a': 1\n\"a\": 2\n", "p.yaml:2:1: a: field given twice"},  // Quoting is not a difference.
      {"m: &m {k: 1, k: 2}\n", "m.k: field given twice"},
  };
  for (const auto& [text, want] : refused) {
    auto root = LoadBoundedYaml(text, "p.yaml");
    ASSERT_FALSE(root.ok()) << text;
    EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(root.status().message(), want) ||
                absl::StrContains(root.status().message(), want))
        << root.status() << "\n  wanted: " << want;
  }
  const std::string accepted[] = {
      "a: {k: 1}\nb: {k: 1}\n",
      "- k: 1\n- k: 1\n",
      "a: &x {k: 1}\nb: *x\nc: *x\n",
      "? [1, 2]\n: a\n? [1, 2]\n: b\n",  // Collection keys are not compared.
  };
  for (const std::string& text : accepted) {
    EXPECT_TRUE(LoadBoundedYaml(text, "p.yaml").ok()) << text;
  }
}

}  // namespace
}  // namespace buildgate
