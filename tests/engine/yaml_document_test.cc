#include "engine/yaml_document.h"

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

}  // namespace
}  // namespace buildgate
