// Fixes as text: the diff applies with GNU patch, a missing key lands at
// its mapping's indentation, untouched lines stay byte for byte; a change of
// step type carries what the user wrote or names what it cannot carry, and
// such an incomplete fix is never applied.
#include "lint/fix.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/compiled_policy.h"
#include "gtest/gtest.h"
#include "lint/lint.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

constexpr char kOpenShiftPolicy[] = R"(org_id: globex
policy:
  root: ROOT_FORBIDDEN
  privileged: PRIVILEGED_FORBIDDEN
  platform: PLATFORM_OPENSHIFT
  openshift_sccs: [SCC_ANYUID]
)";

// A Buildah step without runAsUser in a stage running as 2000 (Buildah's
// image needs 1000), with comments and odd quoting around it.
constexpr char kPipeline[] = R"(# team: storefront
pipeline:
  identifier: storefront_pipeline_with_a_long_identifier
  stages:
    - stage:
        identifier: build   # the only stage
        type: CI
        spec:
          infrastructure:
            type: KubernetesDirect
            spec:
              containerSecurityContext:
                runAsNonRoot: true
                runAsUser: "2000"  # the namespace's range
          execution:
            steps:
              - step:
                  type: Plugin
                  identifier: 'buildah_storefront'
                  spec:
                    connectorRef: "hub"   # keep me
                    image: plugins/buildah-docker:1.1.0-linux-amd64
                    privileged: true
                    settings:
                      repo: globex/storefront
                      tags: "1.2.3"
)";

std::shared_ptr<const CompiledPolicySet> OpenShift() {
  auto policy = CompiledPolicySet::ParseAndCompile(kOpenShiftPolicy, "globex.yaml");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *policy;
}

// Proves a missing key is added at its mapping's indentation and an
// existing value replaced in place, nothing else touched.
TEST(Fix, EditsOnlyTheLinesThatChange) {
  auto result = lint::LintDocument(*OpenShift(), kPipeline, "p.yaml");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->report.findings_size(), 1);
  ASSERT_EQ(result->report.findings(0).verdict(), v1::VERDICT_ALLOW_WITH_CHANGES);
  const std::string fixed = lint::ApplyFixes(kPipeline, lint::PlanFixes(kPipeline, *result));
  const std::string expected = absl::StrReplaceAll(
      kPipeline, {{"                    connectorRef: \"hub\"   # keep me\n",
                   "                    runAsUser: \"1000\"\n"
                   "                    connectorRef: \"hub\"   # keep me\n"},
                  {"privileged: true", "privileged: false"}});
  EXPECT_EQ(fixed, expected);
  auto again = lint::LintDocument(*OpenShift(), fixed, "p.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->report.findings(0).verdict(), v1::VERDICT_ALLOW) << fixed;
}

// Proves --fix changes nothing Kubernetes-shaped off Kubernetes: over a
// pipeline with a build on each infrastructure (privileged plugins/docker on
// a VM pool, runAsUser 0 on a Docker runner, caching on Harness Cloud), the
// only edits are the Kubernetes stage's build and the Windows pool's caching
// (Docker layer caching is Linux only); every other line stays byte for byte.
TEST(Fix, OffKubernetesOnlyWhatAppliesThereChanges) {
  const std::string text = testing::ReadAll(
      BUILDGATE_SOURCE_DIR "/tests/pipelines/documents/infrastructures-each-type.yaml");
  auto policy = CompiledPolicySet::ParseAndCompile(
      testing::ReadAll(BUILDGATE_SOURCE_DIR "/tests/pipelines/policies/brief-k8s-noroot.yaml"),
      "brief-k8s-noroot.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  auto result = lint::LintDocument(**policy, text, "p.yaml");
  ASSERT_TRUE(result.ok()) << result.status();
  const lint::FileFix plan = lint::PlanFixes(text, *result);
  std::set<std::string> fixed_steps;
  for (const lint::FindingFix& ff : plan.findings) {
    const v1::Finding& f = result->report.findings(ff.finding);
    fixed_steps.insert(f.step_id());
    for (const lint::TextEdit& e : ff.edits.empty() ? ff.incomplete_edits : ff.edits) {
      // The Kubernetes stage is lines 13-31 of the document.
      const bool kubernetes = e.start_line >= 13 && e.end_line <= 32;
      const bool windows_caching = f.step_id() == "cached_on_windows_pool" &&
                                   e.replacement == "false";
      EXPECT_TRUE(kubernetes || windows_caching)
          << f.step_id() << ": edit at " << e.start_line << " -> " << e.replacement;
    }
  }
  EXPECT_EQ(fixed_steps, (std::set<std::string>{"kaniko_on_kubernetes", "cached_on_windows_pool"}));
  const std::string fixed = lint::ApplyFixes(text, plan);
  EXPECT_TRUE(absl::StrContains(fixed, "                    caching: true\n"))
      << "Harness Cloud keeps its caching";
  EXPECT_TRUE(absl::StrContains(fixed, "                    privileged: true\n"))
      << "the VM pool's plugin stays privileged";
  EXPECT_TRUE(absl::StrContains(fixed, "                    runAsUser: \"0\"\n"))
      << "the Docker runner's step keeps runAsUser 0";
}

// Proves the unified diff is one `patch` accepts and gives the fixed text.
TEST(Fix, DiffAppliesWithPatch) {
  auto result = lint::LintDocument(*OpenShift(), kPipeline, "p.yaml");
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string fixed = lint::ApplyFixes(kPipeline, lint::PlanFixes(kPipeline, *result));
  const std::string diff = lint::UnifiedDiff(kPipeline, fixed, "p.yaml");
  ASSERT_TRUE(absl::StrContains(diff, "@@ -")) << diff;
  const std::string dir = testing::ScratchPath("fix_patch");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/p.yaml") << kPipeline;
  std::ofstream(dir + "/fix.diff") << diff;
  const auto r = testing::RunCommand(absl::StrCat("cd ", dir, " && patch -p1 < fix.diff"), true);
  ASSERT_EQ(r.exit_code, 0) << r.out << "\n" << diff;
  EXPECT_EQ(testing::ReadAll(dir + "/p.yaml"), fixed);
}

// Proves a unified diff of two texts has correct hunk headers.
TEST(Fix, UnifiedDiffHunks) {
  EXPECT_EQ(lint::UnifiedDiff("a\nb\nc\n", "a\nb\nc\n", "f"), "");
  EXPECT_EQ(lint::UnifiedDiff("a\nb\nc\n", "a\nB\nc\n", "f"),
            "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
  EXPECT_EQ(lint::UnifiedDiff("a\nc\n", "a\nb\nc\n", "f"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n+b\n c\n");
}

// Proves a last line without '\n' is marked as GNU diff marks it ("\ No
// newline at end of file" after it), as a changed line and as context.
TEST(Fix, UnifiedDiffMarksAMissingFinalNewline) {
  EXPECT_EQ(lint::UnifiedDiff("a\nb", "a\nB", "f"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+B\n"
            "\\ No newline at end of file\n");
  EXPECT_EQ(lint::UnifiedDiff("a\nb", "a\nb\n", "f"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
  EXPECT_EQ(lint::UnifiedDiff("1\n2\n3\n4\n5\n6\n7\n8\nlast", "1\n2\n3\n4\n5\nX\n7\n8\nlast", "f"),
            "--- a/f\n+++ b/f\n@@ -3,7 +3,7 @@\n 3\n 4\n 5\n-6\n+X\n 7\n 8\n last\n"
            "\\ No newline at end of file\n");
}

// Proves the fix of a pipeline without a final newline is a diff `patch`
// applies, giving the fixed text (still without a final newline).
TEST(Fix, DiffWithoutFinalNewlineAppliesWithPatch) {
  std::string pipeline = kPipeline;
  pipeline.pop_back();  // The last line, `tags: "1.2.3"`, is context of the fix's hunk.
  auto result = lint::LintDocument(*OpenShift(), pipeline, "p.yaml");
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string fixed = lint::ApplyFixes(pipeline, lint::PlanFixes(pipeline, *result));
  ASSERT_NE(fixed.back(), '\n');
  const std::string diff = lint::UnifiedDiff(pipeline, fixed, "p.yaml");
  ASSERT_TRUE(absl::StrContains(diff, "\\ No newline at end of file\n")) << diff;
  const std::string dir = testing::ScratchPath("fix_patch_no_newline");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/p.yaml", std::ios::binary | std::ios::trunc) << pipeline;
  std::ofstream(dir + "/fix.diff", std::ios::binary | std::ios::trunc) << diff;
  const auto r = testing::RunCommand(absl::StrCat("cd ", dir, " && patch -p1 < fix.diff"), true);
  ASSERT_EQ(r.exit_code, 0) << r.out << "\n" << diff;
  EXPECT_EQ(testing::ReadAll(dir + "/p.yaml"), fixed);
}

// Proves flow-style (JSON) documents are reported but never edited.
TEST(Fix, JsonIsNotEdited) {
  const std::string json =
      R"({"pipeline": {"identifier": "p", "stages": [{"stage": {"identifier": "s", "type": "CI",
      "spec": {"execution": {"steps": [{"step": {"type": "Plugin", "identifier": "b",
      "spec": {"image": "plugins/buildah-docker:1.1.0-linux-amd64", "privileged": true,
      "settings": {"repo": "globex/x"}}}}]}}}}]}})";
  auto result = lint::LintDocument(*OpenShift(), json, "p.json");
  ASSERT_TRUE(result.ok()) << result.status();
  const lint::FileFix fix = lint::PlanFixes(json, *result);
  ASSERT_EQ(fix.findings.size(), 1u);
  EXPECT_TRUE(fix.findings[0].edits.empty());
  EXPECT_TRUE(absl::StrContains(fix.findings[0].skipped, "JSON")) << fix.findings[0].skipped;
  EXPECT_EQ(lint::ApplyFixes(json, fix), json);
}

// ---------------------------------------------------------------------------
// A change of step type (issue 23, item 6: fixes that keep what users wrote).

// Buildah as UID 1000, unprivileged: turns Build and Push steps into Plugin steps.
std::shared_ptr<const CompiledPolicySet> Globex() {
  auto policy = CompiledPolicySet::ParseAndCompile(
      testing::ReadAll(BUILDGATE_SOURCE_DIR "/examples/policies/globex-openshift.yaml"),
      "globex-openshift.yaml");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *policy;
}

// Root allowed, privileged forbidden: drone-docker (privileged) is not
// admissible, Kaniko is, so a plugins/docker Plugin step becomes Build and Push.
std::shared_ptr<const CompiledPolicySet> NoPrivileged() {
  auto policy = CompiledPolicySet::ParseAndCompile(R"(org_id: hooli
policy:
  root: ROOT_ALLOWED
  privileged: PRIVILEGED_FORBIDDEN
)",
                                                   "hooli.yaml");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *policy;
}

// `text` with each Linux stage that runs on Harness Cloud or a local Docker
// runner (`runtime:` with `type: Cloud|Docker`, as written by the real
// pipelines) moved onto a Kubernetes cluster, line for line (locations stay):
// off Kubernetes no build changes type (Harness runs it itself), so the real
// steps are fixed as the steps of a Kubernetes stage.
std::string OnKubernetes(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    const std::size_t indent = lines[i].find_first_not_of(' ');
    if (indent == std::string::npos || lines[i].substr(indent) != "runtime:") continue;
    const std::string pad(indent, ' ');
    const std::string type(absl::StripTrailingAsciiWhitespace(lines[i + 1]));
    if (type != pad + "  type: Cloud" && type != pad + "  type: Docker") continue;
    lines[i] = pad + "infrastructure:";
    lines[i + 1] = pad + "  type: KubernetesDirect";
    if (i + 2 < lines.size() && absl::StartsWith(lines[i + 2], pad + "  spec:")) {
      lines[i + 2] = pad + "  spec: {connectorRef: k8s, namespace: ci}";
    }
  }
  return absl::StrJoin(lines, "\n");
}

// A real pipeline, its Cloud and Docker runner stages moved onto Kubernetes.
std::string Real(const std::string& path) {
  return OnKubernetes(testing::ReadAll(BUILDGATE_SOURCE_DIR "/tests/pipelines/real/" + path));
}

// The fix of the only finding changing `type`, with the text it gives
// (its edits, or the edits it would make when incomplete).
struct TypeFix {
  lint::FindingFix fix;
  std::string fixed;
  std::string not_carried;  // Joined, to search.
};

TypeFix FixTypeChange(const CompiledPolicySet& policy, const std::string& text,
                      absl::string_view type_change) {
  TypeFix out;
  auto result = lint::LintDocument(policy, text, "p.yaml");
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return out;
  const lint::FileFix plan = lint::PlanFixes(text, *result);
  for (const lint::FindingFix& ff : plan.findings) {
    for (const v1::Change& c : result->report.findings(ff.finding).changes()) {
      if (c.field() != "type" || absl::StrCat(c.proposed(), " -> ", c.required()) != type_change) {
        continue;
      }
      out.fix = ff;
      lint::FileFix one;
      one.findings.push_back(ff);
      if (ff.edits.empty()) one.findings[0].edits = ff.incomplete_edits;
      out.fixed = lint::ApplyFixes(text, one);
      out.not_carried = absl::StrJoin(ff.not_carried, "\n");
      return out;
    }
  }
  ADD_FAILURE() << "no finding changes the type " << type_change;
  return out;
}

// The lines of `text` from the line holding `from` on, `count` of them.
std::string LinesFrom(const std::string& text, absl::string_view from, int count) {
  std::size_t at = text.find(std::string(from));
  if (at == std::string::npos) return "(not found: " + std::string(from) + ")";
  at = text.rfind('\n', at) + 1;
  std::size_t end = at;
  for (int i = 0; i < count && end != std::string::npos; ++i) end = text.find('\n', end + 1);
  return text.substr(at, end == std::string::npos ? std::string::npos : end + 1 - at);
}

// Proves a Build and Push step's buildArgs, envVariables and resources
// reach the Buildah step (a real pipeline: gtbanfield/AM-build), and the
// registry login its connector held is named: the fix is shown, not applied.
TEST(FixTypeChange, CarriesBuildArgsEnvAndResourcesToBuildah) {
  const std::string text = Real("pipelines/gtbanfield__AM-build__.harness__pipeline.yaml");
  const TypeFix t = FixTypeChange(*Globex(), text, "BuildAndPushDockerRegistry -> Plugin");
  EXPECT_EQ(LinesFrom(t.fixed, "connectorRef: account.Nexus", 16),
            "                    connectorRef: account.Nexus\n"
            "                    image: plugins/buildah-docker:1.1.0-linux-amd64\n"
            "                    privileged: false\n"
            "                    settings:\n"
            "                      repo: 192.168.1.83:5000/repository/harness/client\n"
            "                      tags: <+input>\n"
            "                      dockerfile: <+input>\n"
            "                      build_args:\n"
            "                        - APP_NAME=<+pipeline.name>\n"
            "                    runAsUser: \"1000\"\n"
            // Copied as written, trailing spaces and all.
            "                    envVariables:\n"
            "                      PLUGIN_SKIP_TLS_VERIFY: \"true\"                     \n"
            "                    resources:\n"
            "                      limits:\n"
            "                        memory: 2Gi\n"
            "                        cpu: 1");
  EXPECT_EQ(t.fix.not_carried,
            std::vector<std::string>{
                "spec.connectorRef (account.Nexus): holds the registry login, which a Plugin "
                "step's settings cannot use; add settings username and password from secrets "
                "(<+secrets.getValue(...)>)"});
  EXPECT_TRUE(t.fix.edits.empty());
  EXPECT_TRUE(absl::StrContains(t.fix.skipped, "would lose spec.connectorRef")) << t.fix.skipped;
  // What it would write is the decided step: only the login is missing.
  auto again = lint::LintDocument(*Globex(), t.fixed, "p.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << t.fixed;
  EXPECT_EQ(again->report.findings(0).verdict(), v1::VERDICT_ALLOW) << t.fixed;
}

// Proves Build and Push `labels` become the plugin's `custom_labels` and a
// key without counterpart (`optimize`, a Kaniko option) is named (a real
// pipeline: rssnyder/discord-stock-ticker).
TEST(FixTypeChange, CarriesLabelsAndNamesOptimize) {
  const std::string text =
      Real("harness-folders/rssnyder__discord-stock-ticker/.harness/release.yaml");
  const TypeFix t = FixTypeChange(*Globex(), text, "BuildAndPushDockerRegistry -> Plugin");
  EXPECT_EQ(LinesFrom(t.fixed, "connectorRef: account.ghcr", 14),
            "                    connectorRef: account.ghcr\n"
            "                    image: plugins/buildah-docker:1.1.0-linux-amd64\n"
            "                    privileged: false\n"
            "                    settings:\n"
            "                      repo: ghcr.io/rssnyder/discord-stock-ticker\n"
            "                      tags: latest,<+codebase.tag>\n"
            "                      custom_labels:\n"
            "                        - org.opencontainers.image.source=<+codebase.repoUrl>\n"
            "                    runAsUser: \"1000\"\n"
            "                    resources:\n"
            "                      limits:\n"
            "                        memory: 1000Mi\n"
            "                        cpu: \"1\"\n"
            "                  failureStrategies: []\n");
  EXPECT_TRUE(absl::StrContains(t.not_carried, "spec.optimize: a Kaniko snapshot option"))
      << t.not_carried;
  EXPECT_TRUE(absl::StrContains(t.not_carried, "spec.connectorRef (account.ghcr)"))
      << t.not_carried;
  EXPECT_EQ(t.fix.not_carried.size(), 2u) << t.not_carried;
}

// A plugins/docker Plugin step (the shape of drone-plugins/drone-aws-cli's
// `.harness/harness.yaml`, with tags instead of auto_tag) carrying every
// setting that has a Build and Push counterpart.
constexpr char kDockerPlugin[] = R"(pipeline:
  identifier: p
  stages:
    - stage:
        identifier: linux
        type: CI
        spec:
          infrastructure:
            type: KubernetesDirect
            spec:
              connectorRef: k8s
              namespace: ci
          execution:
            steps:
              - step:
                  type: Plugin
                  name: Build and push
                  identifier: Plugin_1
                  spec:
                    connectorRef: Plugins_Docker_Hub_Connector  # hub
                    image: plugins/docker
                    settings:
                      repo: plugins/drone-aws-cli
                      # the Linux image
                      dockerfile: docker/Dockerfile
                      tags: linux-amd64
                      build_args:
                        - VERSION=<+codebase.tag>
                        - GOARCH=amd64
                      custom_labels:
                        - org.opencontainers.image.source=https://github.com/drone-plugins/drone-aws-cli
                      target: release
                    envVariables:
                      PLUGIN_SKIP_TLS_VERIFY: "true"  # private mirror
                    resources:
                      limits:
                        memory: 2Gi
                  when:
                    stageStatus: Success
)";

// Proves every carried setting reaches the Build and Push step in its
// form there (build_args K=V list -> buildArgs map, custom_labels ->
// labels, target, envVariables, resources), the comments on lines written
// again stay, the fix is complete and applied, and lint after it finds
// nothing to change.
TEST(FixTypeChange, CarriesPluginSettingsToBuildAndPushAndRelintsClean) {
  const TypeFix t =
      FixTypeChange(*NoPrivileged(), kDockerPlugin, "Plugin -> BuildAndPushDockerRegistry");
  EXPECT_EQ(t.fix.skipped, "");
  EXPECT_EQ(t.not_carried, "");
  ASSERT_FALSE(t.fix.edits.empty());
  const std::string applied = lint::ApplyFixes(
      kDockerPlugin, lint::PlanFixes(kDockerPlugin, *lint::LintDocument(*NoPrivileged(),
                                                                        kDockerPlugin, "p.yaml")));
  EXPECT_EQ(applied, t.fixed);
  EXPECT_EQ(LinesFrom(t.fixed, "type: BuildAndPushDockerRegistry", 26),
            "                  type: BuildAndPushDockerRegistry\n"
            "                  name: Build and push\n"
            "                  identifier: Plugin_1\n"
            "                  spec:\n"
            "                    connectorRef: Plugins_Docker_Hub_Connector  # hub\n"
            "                    repo: plugins/drone-aws-cli\n"
            "                    tags:\n"
            "                      - linux-amd64\n"
            "                    # the Linux image\n"
            "                    dockerfile: docker/Dockerfile\n"
            "                    runAsUser: \"0\"\n"
            "                    buildArgs:\n"
            "                      VERSION: <+codebase.tag>\n"
            "                      GOARCH: amd64\n"
            "                    labels:\n"
            "                      org.opencontainers.image.source: "
            "https://github.com/drone-plugins/drone-aws-cli\n"
            "                    target: release\n"
            "                    envVariables:\n"
            "                      PLUGIN_SKIP_TLS_VERIFY: \"true\"  # private mirror\n"
            "                    resources:\n"
            "                      limits:\n"
            "                        memory: 2Gi\n"
            "                  when:\n"
            "                    stageStatus: Success\n");
  auto again = lint::LintDocument(*NoPrivileged(), t.fixed, "p.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << t.fixed;
  ASSERT_EQ(again->report.findings_size(), 1);
  EXPECT_EQ(again->report.findings(0).verdict(), v1::VERDICT_ALLOW) << t.fixed;
  EXPECT_EQ(again->report.findings(0).changes_size(), 0);
}

// Proves a plugins/docker step that tags by auto_tag (a real pipeline:
// drone-plugins/drone-aws-cli) is not fixed: the Build and Push step would
// have no tags, which Harness rejects, and auto_tag, auto_tag_suffix and
// the username/password login have no place in it.
TEST(FixTypeChange, AutoTagWithoutTagsIsRefusedWithItsReason) {
  const std::string text = Real("pipelines/drone-plugins__drone-aws-cli__.harness__harness.yaml");
  const TypeFix t = FixTypeChange(*NoPrivileged(), text, "Plugin -> BuildAndPushDockerRegistry");
  EXPECT_TRUE(t.fix.edits.empty());
  EXPECT_FALSE(t.fix.incomplete_edits.empty());
  EXPECT_TRUE(absl::StrContains(
      t.fix.skipped, "would give BuildAndPushDockerRegistry without tags (Harness requires them)"))
      << t.fix.skipped;
  for (const char* key : {"spec.settings.auto_tag: Build and Push has no auto-tagging",
                          "spec.settings.auto_tag_suffix: goes with auto_tag",
                          "spec.settings.username: a BuildAndPushDockerRegistry step logs in "
                          "through its connectorRef (Plugins_Docker_Hub_Connector)",
                          "spec.settings.password: a BuildAndPushDockerRegistry step logs in"}) {
    EXPECT_TRUE(absl::StrContains(t.not_carried, key)) << key << "\n" << t.not_carried;
  }
  auto result = lint::LintDocument(*NoPrivileged(), text, "p.yaml");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(lint::ApplyFixes(text, lint::PlanFixes(text, *result)).find("auto_tag: \"true\""),
            text.find("auto_tag: \"true\""));  // The step is left as it was.
}

// Proves each Build and Push key without a Buildah counterpart is named,
// with the registry login each destination's plugin needs.
TEST(FixTypeChange, NamesEveryBuildAndPushKeyItCannotCarry) {
  const std::string steps = R"(- step:
    type: BuildAndPushDockerRegistry
    identifier: hub
    spec:
      connectorRef: hub
      repo: globex/app
      tags: [v1]
      cacheFrom: [globex/app:cache]
      cacheTo: [globex/app:cache]
      remoteCacheRepo: globex/cache
      optimize: true
      baseImageConnectorRefs: [base]
      envDockerSecrets: {NPM: npm_token}
      fileDockerSecrets: {npmrc: /tmp/npmrc}
      registryRef: harness_registry
      futureKey: x
)";
  const TypeFix t = FixTypeChange(*Globex(), steps, "BuildAndPushDockerRegistry -> Plugin");
  for (const char* key :
       {"spec.cacheFrom: the Buildah plugin has no remote cache setting",
        "spec.cacheTo: ", "spec.remoteCacheRepo: ", "spec.optimize: ",
        "spec.baseImageConnectorRefs: a Plugin step cannot log in to base-image registries",
        "spec.envDockerSecrets: ", "spec.fileDockerSecrets: ", "spec.registryRef: ",
        "spec.futureKey: no counterpart in a Plugin step",
        "spec.connectorRef (hub): holds the registry login, which a Plugin step's settings "
        "cannot use; add settings username and password"}) {
    EXPECT_TRUE(absl::StrContains(t.not_carried, key)) << key << "\n" << t.not_carried;
  }
  EXPECT_EQ(t.fix.not_carried.size(), 10u) << t.not_carried;

  const TypeFix ecr = FixTypeChange(*Globex(), R"(- step:
    type: BuildAndPushECR
    identifier: ecr
    spec:
      connectorRef: aws
      region: us-east-2
      account: "139426992374"
      imageName: app
      tags: [v1]
      remoteCacheImage: app-cache
)",
                                    "BuildAndPushECR -> Plugin");
  EXPECT_TRUE(absl::StrContains(ecr.not_carried, "spec.remoteCacheImage: ")) << ecr.not_carried;
  EXPECT_TRUE(
      absl::StrContains(ecr.not_carried,
                        "spec.connectorRef (aws): holds the registry login, which a Plugin step's "
                        "settings cannot use; add settings access_key and secret_key"))
      << ecr.not_carried;

  const TypeFix gcr = FixTypeChange(*Globex(), R"(- step:
    type: BuildAndPushGCR
    identifier: gcr
    spec:
      connectorRef: gcp
      host: gcr.io
      projectID: globex
      imageName: app
      tags: [v1]
)",
                                    "BuildAndPushGCR -> Plugin");
  EXPECT_TRUE(absl::StrContains(gcr.not_carried, "add settings json_key")) << gcr.not_carried;

  const TypeFix acr = FixTypeChange(*Globex(), R"(- step:
    type: BuildAndPushACR
    identifier: acr
    spec:
      connectorRef: azure
      repository: globex.azurecr.io/app
      subscriptionId: 0000-1111
      tags: [v1]
)",
                                    "BuildAndPushACR -> Plugin");
  EXPECT_TRUE(
      absl::StrContains(acr.not_carried, "spec.subscriptionId: only for the image's portal link"))
      << acr.not_carried;
  EXPECT_TRUE(absl::StrContains(acr.not_carried,
                                "spec.connectorRef (azure): holds the registry login, which a "
                                "Plugin step's settings cannot use; add settings client_id, "
                                "client_secret and tenant_id"))
      << acr.not_carried;
}

// Proves each plugin setting without a Build and Push counterpart is named,
// and an ECR plugin's access keys as a login Build and Push takes only
// through its connector.
TEST(FixTypeChange, NamesEveryPluginSettingItCannotCarry) {
  const TypeFix t = FixTypeChange(*NoPrivileged(), R"(- step:
    type: Plugin
    identifier: docker
    spec:
      connectorRef: hub
      image: plugins/docker
      imagePullPolicy: Always
      settings:
        repo: globex/app
        tags: v1
        auto_tag: true
        auto_tag_suffix: linux-amd64
        daemon_off: true
        purge: false
        build_args_from_env: [GOPROXY]
        squash: true
        base_image_registry: harness0.harness.io
        base_image_username: <+secrets.getValue("har_user")>
        base_image_password: <+secrets.getValue("har_token")>
)",
                                  "Plugin -> BuildAndPushDockerRegistry");
  for (const char* key :
       {"spec.imagePullPolicy: no counterpart in a BuildAndPushDockerRegistry step",
        "spec.settings.auto_tag: ", "spec.settings.auto_tag_suffix: ", "spec.settings.daemon_off: ",
        "spec.settings.purge: ", "spec.settings.build_args_from_env: ",
        "spec.settings.squash: no counterpart in a BuildAndPushDockerRegistry step",
        "spec.settings.base_image_registry: a Build and Push step logs in to a base image's "
        "registry through baseImageConnectorRefs",
        "spec.settings.base_image_username: ", "spec.settings.base_image_password: "}) {
    EXPECT_TRUE(absl::StrContains(t.not_carried, key)) << key << "\n" << t.not_carried;
  }
  EXPECT_EQ(t.fix.not_carried.size(), 10u) << t.not_carried;
  // Tags were listed: the step would be valid, only incomplete.
  EXPECT_FALSE(absl::StrContains(t.fix.skipped, "without tags")) << t.fix.skipped;

  const TypeFix ecr = FixTypeChange(*NoPrivileged(), R"(- step:
    type: Plugin
    identifier: ecr
    spec:
      connectorRef: hub
      image: plugins/ecr
      settings:
        registry: 139426992374.dkr.ecr.us-east-2.amazonaws.com
        repo: app
        tags: v1
        access_key: <+secrets.getValue("aws_access_key")>
        secret_key: <+secrets.getValue("aws_secret_key")>
)",
                                    "Plugin -> BuildAndPushECR");
  EXPECT_TRUE(absl::StrContains(
      ecr.not_carried,
      "spec.settings.access_key: a BuildAndPushECR step logs in through its connectorRef (hub)"))
      << ecr.not_carried;
  EXPECT_TRUE(absl::StrContains(ecr.not_carried, "spec.settings.secret_key: ")) << ecr.not_carried;

  // drone-docker's ACR plugin: its service principal is a login; its
  // subscription_id is Build and Push's subscriptionId.
  const TypeFix acr = FixTypeChange(*NoPrivileged(), R"(- step:
    type: Plugin
    identifier: acr
    spec:
      connectorRef: hub
      image: plugins/acr
      settings:
        registry: globex.azurecr.io
        repo: app
        tags: v1
        client_id: <+secrets.getValue("sp_id")>
        client_secret: <+secrets.getValue("sp_secret")>
        tenant_id: globex-tenant
        subscription_id: 0000-1111
)",
                                    "Plugin -> BuildAndPushACR");
  EXPECT_TRUE(absl::StrContains(acr.fixed, "      subscriptionId: 0000-1111\n")) << acr.fixed;
  for (const char* key :
       {"spec.settings.client_id: a BuildAndPushACR step logs in through its connectorRef (hub)",
        "spec.settings.client_secret: ", "spec.settings.tenant_id: "}) {
    EXPECT_TRUE(absl::StrContains(acr.not_carried, key)) << key << "\n" << acr.not_carried;
  }
  EXPECT_EQ(acr.fix.not_carried.size(), 3u) << acr.not_carried;
  EXPECT_EQ(ecr.fix.not_carried.size(), 2u) << ecr.not_carried;
}

// Proves comments inside a replaced spec stay on (or above) the lines
// written again unchanged, also when the line moves under `settings`, stay
// inside a block copied as written, and are named when their line goes.
TEST(FixTypeChange, KeepsCommentsOnLinesWrittenAgainAndNamesTheOthers) {
  const std::string step = R"(- step:
    type: BuildAndPushDockerRegistry
    identifier: app
    spec:  # the spec
      # push to hub
      connectorRef: hub  # docker hub
      repo: globex/app
      tags:
        - v1  # release tag
      # the Dockerfile
      dockerfile: build/Dockerfile  # main
      resources:
        # sized for the build
        limits:
          memory: 2Gi  # enough
    timeout: 10m  # outside the spec
)";
  const TypeFix t = FixTypeChange(*Globex(), step, "BuildAndPushDockerRegistry -> Plugin");
  EXPECT_EQ(t.fixed, R"(- step:
    type: Plugin
    identifier: app
    spec:  # the spec
      # push to hub
      connectorRef: hub  # docker hub
      image: plugins/buildah-docker:1.1.0-linux-amd64
      privileged: false
      settings:
        repo: globex/app
        tags: v1
        # the Dockerfile
        dockerfile: build/Dockerfile  # main
      runAsUser: "1000"
      resources:
        # sized for the build
        limits:
          memory: 2Gi  # enough
    timeout: 10m  # outside the spec
)");
  EXPECT_TRUE(absl::StrContains(
      t.not_carried, "comment \"# release tag\" (line 9): its line is not written again"))
      << t.not_carried;
  EXPECT_EQ(t.fix.not_carried.size(), 2u) << t.not_carried;  // And the login.
}

// Proves a Build and Push step that does not push (the stage's
// PLUGIN_DRY_RUN, where Harness gives it to the Buildah plugin) becomes
// a Buildah step with nothing lost: the fix is complete, applied, and lint
// after it finds no change needed.
TEST(FixTypeChange, CompleteBuildahFixIsAppliedAndRelintsClean) {
  const std::string pipeline = R"(pipeline:
  identifier: p
  stages:
    - stage:
        identifier: build
        type: CI
        variables:
          - name: PLUGIN_DRY_RUN
            type: String
            value: "true"
        spec:
          infrastructure:
            type: KubernetesDirect
            spec:
              connectorRef: k8s
              namespace: ci
              containerSecurityContext:
                runAsNonRoot: true
                runAsUser: "1000"
          execution:
            steps:
              - step:
                  type: BuildAndPushDockerRegistry
                  identifier: check
                  spec:
                    connectorRef: hub  # pulls the plugin image
                    repo: globex/app
                    tags:
                      - pr
                    buildArgs:
                      GOARCH: amd64
                    labels:
                      team: storefront
                    target: test
                    envVariables:
                      PLUGIN_SKIP_TLS_VERIFY: "true"
)";
  const TypeFix t = FixTypeChange(*Globex(), pipeline, "BuildAndPushDockerRegistry -> Plugin");
  EXPECT_EQ(t.fix.skipped, "");
  EXPECT_EQ(t.not_carried, "");
  ASSERT_FALSE(t.fix.edits.empty());
  EXPECT_EQ(LinesFrom(t.fixed, "connectorRef: hub", 16),
            "                    connectorRef: hub  # pulls the plugin image\n"
            "                    image: plugins/buildah-docker:1.1.0-linux-amd64\n"
            "                    privileged: false\n"
            "                    settings:\n"
            "                      repo: globex/app\n"
            "                      tags: pr\n"
            "                      build_args:\n"
            "                        - GOARCH=amd64\n"
            "                      custom_labels:\n"
            "                        - team=storefront\n"
            "                      target: test\n"
            "                    runAsUser: \"1000\"\n"
            "                    envVariables:\n"
            "                      PLUGIN_SKIP_TLS_VERIFY: \"true\"\n");
  auto again = lint::LintDocument(*Globex(), t.fixed, "p.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << t.fixed;
  ASSERT_EQ(again->report.findings_size(), 1);
  EXPECT_EQ(again->report.findings(0).verdict(), v1::VERDICT_ALLOW) << t.fixed;
  EXPECT_EQ(again->report.findings(0).changes_size(), 0) << again->report.findings(0).DebugString();
  const lint::FileFix twice = lint::PlanFixes(t.fixed, *again);
  for (const lint::FindingFix& ff : twice.findings) EXPECT_TRUE(ff.edits.empty());
}

// Proves envVariables.PLUGIN_DRY_RUN is not copied to the Buildah step: the
// decision puts the dry run where Buildah reads it (a stage variable), the
// step's other variables are copied as written, and lint after the fix
// finds nothing to change.
TEST(FixTypeChange, DryRunMovesWhereTheNewBuilderReadsIt) {
  const std::string pipeline = R"(pipeline:
  identifier: p
  stages:
    - stage:
        identifier: build
        type: CI
        spec:
          infrastructure:
            type: KubernetesDirect
            spec:
              connectorRef: k8s
              namespace: ci
              containerSecurityContext:
                runAsNonRoot: true
                runAsUser: "1000"
          execution:
            steps:
              - step:
                  type: BuildAndPushDockerRegistry
                  identifier: check
                  spec:
                    connectorRef: hub
                    repo: globex/app
                    tags: [pr]
                    envVariables:
                      PLUGIN_DRY_RUN: "true"
                      PLUGIN_SKIP_TLS_VERIFY: "true"  # private mirror
)";
  const TypeFix t = FixTypeChange(*Globex(), pipeline, "BuildAndPushDockerRegistry -> Plugin");
  EXPECT_EQ(t.not_carried, "");
  ASSERT_FALSE(t.fix.edits.empty()) << t.fix.skipped;
  EXPECT_EQ(LinesFrom(t.fixed, "envVariables:", 3),
            "                    envVariables:\n"
            "                      PLUGIN_SKIP_TLS_VERIFY: \"true\"  # private mirror\n");
  EXPECT_TRUE(absl::StrContains(t.fixed, "          - name: PLUGIN_DRY_RUN\n")) << t.fixed;
  auto again = lint::LintDocument(*Globex(), t.fixed, "p.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << t.fixed;
  EXPECT_EQ(again->report.findings(0).verdict(), v1::VERDICT_ALLOW) << t.fixed;
}

// Proves, over every real pipeline (tests/pipelines/real) under both
// policies that change step types, that each type change's edits (applied
// or only shown) give a document that lints, with that build decided as
// buildgate decided it (no change left), and that a complete fix loses
// nothing the user wrote.
TEST(FixTypeChange, EveryRealTypeChangeRelintsAsDecided) {
  int type_changes = 0;
  for (const auto& policy : {Globex(), NoPrivileged()}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(
             BUILDGATE_SOURCE_DIR "/tests/pipelines/real")) {
      const std::string path = entry.path().string();
      if (!entry.is_regular_file() ||
          !(absl::EndsWith(path, ".yaml") || absl::EndsWith(path, ".yml"))) {
        continue;
      }
      const std::string text = OnKubernetes(testing::ReadAll(path));
      auto result = lint::LintDocument(*policy, text, path);
      if (!result.ok()) continue;  // Not a pipeline this test is about.
      const lint::FileFix plan = lint::PlanFixes(text, *result);
      for (const lint::FindingFix& ff : plan.findings) {
        bool type_change = false;
        for (const v1::Change& c : result->report.findings(ff.finding).changes()) {
          type_change |= c.field() == "type";
        }
        if (!type_change || (ff.edits.empty() && ff.incomplete_edits.empty())) continue;
        ++type_changes;
        EXPECT_EQ(ff.edits.empty(), !ff.not_carried.empty() || !ff.skipped.empty()) << path;
        lint::FileFix one;
        one.findings.push_back(ff);
        if (ff.edits.empty()) one.findings[0].edits = ff.incomplete_edits;
        const std::string fixed = lint::ApplyFixes(text, one);
        auto again = lint::LintDocument(*policy, fixed, path);
        ASSERT_TRUE(again.ok()) << path << ": " << again.status() << "\n"
                                << lint::UnifiedDiff(text, fixed, path);
        ASSERT_EQ(again->report.findings_size(), result->report.findings_size()) << path;
        const v1::Finding& now = again->report.findings(ff.finding);
        EXPECT_EQ(now.verdict(), v1::VERDICT_ALLOW)
            << path << "\n"
            << now.DebugString() << lint::UnifiedDiff(text, fixed, path);
      }
    }
  }
  // 69 when written: the real Linux Cloud and runner stages, on Kubernetes;
  // matrix builds whose combinations need different edits have none.
  EXPECT_GT(type_changes, 60);
}

}  // namespace
}  // namespace buildgate
