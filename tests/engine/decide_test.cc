#include "engine/decide.h"

#include <thread>

#include "absl/strings/match.h"
#include "input/proto_text.h"
#include "gtest/gtest.h"
#include "tests/testing/yaml_messages.h"

namespace buildgate {
namespace {

using testing::Compile;
using testing::Step;

constexpr char kStrict[] = "org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n";

std::string Deterministic(const v1::Decision& d) { return DeterministicSerialization(d); }

// Proves the same input gives the same decision, byte for byte.
TEST(Decide, Deterministic) {
  auto set = Compile(kStrict);
  const auto step = Step("kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: acme/web\ncaching: true\n");
  v1::Decision a, b;
  ASSERT_TRUE(Decide(*set, step, &a).ok());
  ASSERT_TRUE(Decide(*set, step, &b).ok());
  EXPECT_EQ(Deterministic(a), Deterministic(b));
  EXPECT_EQ(MessageToJson(a), MessageToJson(b));
  // And across separately compiled copies of the same policy.
  auto set2 = Compile(kStrict);
  v1::Decision c;
  ASSERT_TRUE(Decide(*set2, step, &c).ok());
  EXPECT_EQ(Deterministic(a), Deterministic(c));
}

// Proves invalid steps get INVALID_ARGUMENT naming the field and no decision.
TEST(Decide, InvalidStepsNameTheField) {
  auto set = Compile(kStrict);
  const std::pair<const char*, const char*> cases[] = {
      {"repo: a/b\n", "step.kind"},
      {"kind: STEP_KIND_PLUGIN\nrepo: a/b\n", "step.image"},
      {"kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nimage: plugins/kaniko\nrepo: a/b\n", "step.image"},
      {"kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\n", "step.repo"},
      {"kind: STEP_KIND_BUILD_AND_PUSH_ECR\nrepo: a/b\n", "step.registry"},
      {"kind: STEP_KIND_BUILD_AND_PUSH_ACR\nregistry: acme.example.com\nrepo: a/b\n", "step.registry"},
      {"kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: a/b\nrun_as_user: -1\n", "step.run_as_user"},
      {"kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: a/b\ntags: [\"a b\"]\n", "step.tags[0]"},
      {"kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: a/b\ncredentials: {password: x}\n",
       "step.credentials.username"},
      {"kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: a/b\nproject_id: \"a/b\"\n", "step.project_id"},
      {"kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: a/b\ninfrastructure: {containerSecurityContext: "
       "{capabilities: {drop: [all]}}}\n", "step.infrastructure.container_security_context.capabilities"},
  };
  for (const auto& [yaml, field] : cases) {
    v1::Decision d;
    absl::Status s = Decide(*set, Step(yaml), &d);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << yaml;
    EXPECT_TRUE(absl::StartsWith(s.message(), field)) << yaml << " -> " << s;
    EXPECT_EQ(d.verdict(), v1::VERDICT_UNSPECIFIED) << "a decision for invalid input: " << yaml;
  }
}

// Proves DecidePluginStep says whether the image is a builder plugin exactly
// as IsBuilderPluginStep does, and otherwise answers as Decide: a builder
// plugin decided, a builder plugin refused for another field, a plugin that
// builds nothing, an image that does not parse, a step refused before its
// image is looked at.
TEST(Decide, DecidePluginStepMatchesTheCatalogAsIsBuilderPluginStep) {
  auto set = Compile(kStrict);
  const char* const cases[] = {
      "kind: STEP_KIND_PLUGIN\nimage: plugins/buildah-docker\nrepo: acme/web\n",
      "kind: STEP_KIND_PLUGIN\nimage: plugins/buildah-docker:1.2\nrepo: acme/web\n"
      "requested_builder: BUILDER_KANIKO\n",
      "kind: STEP_KIND_PLUGIN\nimage: plugins/slack\nrepo: acme/web\n",
      "kind: STEP_KIND_PLUGIN\nimage: \"Not An Image\"\nrepo: acme/web\n",
      "kind: STEP_KIND_PLUGIN\nimage: plugins/buildah-docker\nrepo: acme/web\nproject_id: \"a/b\"\n",
      "kind: STEP_KIND_PLUGIN\nimage: plugins/slack\nrepo: acme/web\nproject_id: \"a/b\"\n",
  };
  const bool expected_builder[] = {true, true, false, false, true, false};
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    const v1::BuildStep step = Step(cases[i]);
    v1::Decision plugin_decision, decision;
    bool builder_plugin = !expected_builder[i];
    const absl::Status plugin_status = DecidePluginStep(*set, step, &plugin_decision, &builder_plugin);
    const absl::Status status = Decide(*set, step, &decision);
    EXPECT_EQ(builder_plugin, expected_builder[i]) << cases[i];
    EXPECT_EQ(builder_plugin, IsBuilderPluginStep(*set, step)) << cases[i];
    EXPECT_EQ(plugin_status, status) << cases[i];
    EXPECT_EQ(Deterministic(plugin_decision), Deterministic(decision)) << cases[i];
  }
}

// Proves unknown enum numbers arriving in binary protos are rejected.
TEST(Decide, UnknownEnumNumbers) {
  auto set = Compile(kStrict);
  v1::BuildStep step = Step("kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: a/b\n");
  step.set_arch(static_cast<v1::Arch>(77));
  v1::Decision d;
  EXPECT_TRUE(absl::StartsWith(Decide(*set, step, &d).message(), "step.arch"));
  step.set_arch(v1::ARCH_AMD64);
  step.set_kind(static_cast<v1::StepKind>(99));
  EXPECT_TRUE(absl::StartsWith(Decide(*set, step, &d).message(), "step.kind"));
}

// Proves a plaintext password never appears in any rendering of a decision
// or in an error message.
TEST(Decide, NeverEchoesAPassword) {
  const std::string secret = "hunter2-Sup3rS3cret-XYZ";
  for (const char* policy :
       {kStrict, "org_id: acme\npolicy: {root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED, "
                 "credentials: CREDENTIALS_PASSWORD_EXPRESSION}\n"}) {
    auto set = Compile(policy);
    for (const char* kind : {"STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY", "STEP_KIND_PLUGIN"}) {
      v1::BuildStep step = Step(std::string("kind: ") + kind + "\nrepo: acme/web\n");
      if (std::string(kind) == "STEP_KIND_PLUGIN") step.set_image("plugins/buildah-docker:1.1.0-linux-amd64");
      step.mutable_credentials()->set_username("bot");
      step.mutable_credentials()->set_password(secret);
      v1::Decision d;
      ASSERT_TRUE(Decide(*set, step, &d).ok());
      for (const std::string& text : {d.DebugString(), MessageToJson(d), MessageToYaml(d)}) {
        EXPECT_FALSE(absl::StrContains(text, secret)) << text;
      }
      EXPECT_TRUE(absl::StrContains(d.DebugString(), "PLAINTEXT_PASSWORD"));
      step.mutable_credentials()->set_password(secret + "\x01");
      absl::Status s = Decide(*set, step, &d);
      EXPECT_FALSE(s.ok());
      EXPECT_FALSE(absl::StrContains(s.message(), secret)) << s;
    }
  }
}

// Proves many threads deciding on one compiled set get identical answers.
TEST(Decide, ConcurrentCallersAgree) {
  auto set = Compile(kStrict);
  const auto step = Step("kind: STEP_KIND_BUILD_AND_PUSH_GAR\nregistry: us-docker.pkg.dev\nrepo: p/r/i\n");
  v1::Decision expected;
  ASSERT_TRUE(Decide(*set, step, &expected).ok());
  const std::string want = Deterministic(expected);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      v1::Decision d;
      for (int i = 0; i < 500; ++i) {
        if (!Decide(*set, step, &d).ok() || Deterministic(d) != want) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Proves compiling from many threads at once (the shared intern pool of
// scope tables) gives each thread a set that decides like one compiled
// alone, and that a long step id renders intact.
TEST(Decide, ConcurrentCompilesAgree) {
  const std::string step_yaml =
      "step_id: build_and_push_the_payments_service_image_to_ecr_eu_west_1\n"
      "kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: acme/payments-api\n";
  v1::Decision expected;
  ASSERT_TRUE(Decide(*Compile(kStrict), Step(step_yaml), &expected).ok());
  ASSERT_TRUE(absl::StrContains(expected.step_yaml(),
                                "build_and_push_the_payments_service_image_to_ecr_eu_west_1"));
  const std::string want = Deterministic(expected);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      const v1::BuildStep step = Step(step_yaml);
      for (int i = 0; i < 50; ++i) {
        v1::Decision d;
        auto set = Compile(kStrict);
        if (!Decide(*set, step, &d).ok() || Deterministic(d) != want) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Proves the decision carries the policy revision, fingerprint and scope.
TEST(Decide, ReportsPolicyIdentity) {
  auto set = Compile("org_id: acme\npolicy: {revision: r9, root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n");
  v1::Decision d;
  ASSERT_TRUE(Decide(*set, Step("kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: a/b\n"), &d).ok());
  EXPECT_EQ(d.policy_revision(), "r9");
  EXPECT_EQ(d.policy_fingerprint(), set->fingerprint());
  EXPECT_EQ(d.policy_scope(), "org");
}

}  // namespace
}  // namespace buildgate

namespace buildgate {
namespace {

// Proves the character checks (read eight bytes at a time) find a control
// character, DEL, a space or a '/' at every offset of a long value, and
// let UTF-8 through.
TEST(Decide, CharacterChecksSeeEveryOffset) {
  auto set = Compile(kStrict);
  const std::string id = "build_and_push_the_ledger_reconciliation_worker_image";  // 53 chars.
  v1::Decision d;
  for (std::size_t at = 0; at < id.size(); ++at) {
    for (char bad : {'\x01', '\x1f', '\x7f', '\t', ' ', '/'}) {
      v1::BuildStep step = Step("kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: acme/web\n");
      std::string value = id;
      value[at] = bad;
      step.set_step_id(value);
      const absl::Status s = Decide(*set, step, &d);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << "offset " << at << " char " << int(bad);
      EXPECT_TRUE(absl::StrContains(s.message(), "step.step_id")) << s;
      if (bad != '/' && bad != ' ') {
        step.set_step_id(id);
        step.set_name(value);  // Any field: control characters are refused.
        EXPECT_FALSE(Decide(*set, step, &d).ok()) << "name, offset " << at;
      }
    }
  }
  v1::BuildStep step = Step("kind: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY\nrepo: acme/web\n");
  step.set_step_id("ビルド_und_Prüfung_der_Zahlungsabwicklung_für_Europa");
  step.set_name("Build and push: Zahlungsabwicklung € (release train 2026.11)");
  EXPECT_TRUE(Decide(*set, step, &d).ok());
}

}  // namespace
}  // namespace buildgate
