#include "grammar/reference.h"

#include <random>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

// Reassembles a parsed reference (Docker Hub's host dropped).
std::string Join(const ImageReference& r) {
  std::string out = r.domain.empty() ? "" : absl::StrCat(r.domain, "/");
  absl::StrAppend(&out, r.repository);
  if (!r.tag.empty()) absl::StrAppend(&out, ":", r.tag);
  if (!r.digest.empty()) absl::StrAppend(&out, "@", r.digest);
  return out;
}

// Proves the parts of valid references, mirrors and digests included, and
// that they reassemble into the text.
TEST(ParseImageReference, ValidReferences) {
  struct Want {
    std::string text, domain, repository, tag, digest;
  };
  const Want cases[] = {
      {"plugins/docker", "", "plugins/docker", "", ""},
      {"plugins/docker:21.3.4@" + kDigest, "", "plugins/docker", "21.3.4", kDigest},
      {"plugins/kaniko@" + kDigest, "", "plugins/kaniko", "", kDigest},
      {"docker.io/plugins/buildah-docker:1.1.0-linux-amd64", "", "plugins/buildah-docker",
       "1.1.0-linux-amd64", ""},
      {"index.docker.io/plugins/docker:latest", "", "plugins/docker", "latest", ""},
      // Hosts are case-insensitive: Docker Hub in any case is Docker Hub.
      {"Registry-1.Docker.IO/plugins/kaniko:1.10.1", "", "plugins/kaniko", "1.10.1", ""},
      {"registry.example.com/plugins/buildah-docker:1.1.0-linux-amd64", "registry.example.com",
       "plugins/buildah-docker", "1.1.0-linux-amd64", ""},
      {"registry.example.com:5000/mirror/plugins/docker:21.3.4", "registry.example.com:5000",
       "mirror/plugins/docker", "21.3.4", ""},
      {"localhost/a__b/c-d.e:_x", "localhost", "a__b/c-d.e", "_x", ""},
  };
  for (const Want& w : cases) {
    auto r = ParseImageReference(w.text, "step.image");
    ASSERT_TRUE(r.ok()) << w.text << ": " << r.status();
    EXPECT_EQ(r->domain, w.domain) << w.text;
    EXPECT_EQ(r->repository, w.repository) << w.text;
    EXPECT_EQ(r->tag, w.tag) << w.text;
    EXPECT_EQ(r->digest, w.digest) << w.text;
    EXPECT_TRUE(absl::EndsWith(w.text, Join(*r))) << w.text;
  }
}

// Proves invalid references are INVALID_ARGUMENT naming the field and rule.
TEST(ParseImageReference, InvalidReferencesNameTheRule) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty"},
      {"Plugins/Docker:1", "lower-case"},
      {"plugins//docker", "lower-case"},
      {"plugins/docker:" + std::string(129, 't'), "at most 128 characters"},
      {"plugins/docker:.hidden", "starts with"},
      {"plugins/docker@sha256:abc", "at least 32 lower-case hex digits"},
      {"plugins/docker@sha256:" + std::string(40, 'a'), "64 hex digits"},
      {"plugins/docker@" + std::string(64, 'a'), "ALGORITHM:HEX"},
      {"registry.example.com:http/plugins/docker", "host[:port]"},
      {"-bad-.example.com/plugins/docker", "host[:port]"},
      {"registry.example.com/", "no repository"},
  };
  for (const auto& [text, why] : cases) {
    auto r = ParseImageReference(text, "step.image");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(r.status().message(), "step.image: ")) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), why)) << text << ": " << r.status();
  }
}

// Proves the tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
TEST(TagProblem, Grammar) {
  EXPECT_EQ(TagProblem("1.1.0-linux-amd64"), "");
  EXPECT_EQ(TagProblem("_Build_42"), "");
  EXPECT_EQ(TagProblem(std::string(128, 'v')), "");
  EXPECT_NE(TagProblem(std::string(129, 'v')), "");
  EXPECT_NE(TagProblem(""), "");
  EXPECT_NE(TagProblem("-rc1"), "");
  EXPECT_NE(TagProblem("v1+build"), "");
}

// Proves an expression in the tag or digest leaves the reference
// recognisable and is reported as such, and one in the host or repository is
// an error that says why (a ':' or '/' inside an expression splits nothing).
TEST(ParseImageReference, Expressions) {
  auto r = ParseImageReference("plugins/kaniko:<+pipeline.variables.KANIKO_VERSION>", "step.image");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->repository, "plugins/kaniko");
  EXPECT_EQ(r->tag, "<+pipeline.variables.KANIKO_VERSION>");
  EXPECT_TRUE(r->tag_is_expression);
  r = ParseImageReference("plugins/docker:21.3.4@<+pipeline.variables.DOCKER_PLUGIN_DIGEST>",
                          "step.image");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tag, "21.3.4");
  EXPECT_FALSE(r->tag_is_expression);
  EXPECT_TRUE(r->digest_is_expression);
  // The expression holds ':' and '/': still one tag.
  r = ParseImageReference("plugins/docker:<+pipeline.variables.get(\"a:b/c\")>", "step.image");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->repository, "plugins/docker");
  EXPECT_TRUE(r->tag_is_expression);
  // An '@', ':' or '/' inside an expression splits nothing, wherever it is.
  r = ParseImageReference(
      "registry.example.com:5000/plugins/docker:<+pipeline.variables.get(\"v@1:a/b\")>",
      "step.image");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->domain, "registry.example.com:5000");
  EXPECT_EQ(r->repository, "plugins/docker");
  EXPECT_TRUE(r->tag_is_expression);
  EXPECT_EQ(r->digest, "");
  r = ParseImageReference("plugins/docker@<+pipeline.variables.get(\"sha256:a/b@c\")>",
                          "step.image");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tag, "");
  EXPECT_TRUE(r->digest_is_expression);
  for (const std::string bad : {"<+pipeline.variables.PLUGIN>:1.1.0",
                                "registry.example.com:5000/<+pipeline.variables.NS>/docker:1",
                                "registry.<+env.name>.example.com/plugins/docker:1",
                                "plugins/<+pipeline.variables.NAME>"}) {
    r = ParseImageReference(bad, "step.image");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(absl::StrContains(r.status().message(), "holds a Harness expression"))
        << r.status();
  }
}

// Proves what a plugin mirror may be.
TEST(PluginMirrorProblem, LiteralRegistryPrefixes) {
  EXPECT_EQ(PluginMirrorProblem("registry.example.com/plugins"), "");
  EXPECT_EQ(PluginMirrorProblem("registry.example.com"), "");
  EXPECT_EQ(PluginMirrorProblem("harbor.corp.example.com:8443/dockerhub-proxy"), "");
  EXPECT_NE(PluginMirrorProblem(""), "");
  EXPECT_NE(PluginMirrorProblem("https://registry.example.com/plugins"), "");
  EXPECT_NE(PluginMirrorProblem("registry.example.com/plugins/"), "");
  EXPECT_NE(PluginMirrorProblem("Registry.Example.com/plugins"), "");
  EXPECT_NE(PluginMirrorProblem("*.example.com/plugins"), "");
  EXPECT_NE(PluginMirrorProblem("registry.example.com/<+pipeline.variables.NS>"), "");
  EXPECT_NE(PluginMirrorProblem("plugins"), "");            // No registry host.
  EXPECT_NE(PluginMirrorProblem("docker.io/plugins"), "");  // Docker Hub itself.
  EXPECT_NE(PluginMirrorProblem("registry.example.com/plugins:1.0"), "");
}

// Proves push repositories are judged by the grammar around expressions.
TEST(RepositoryProblem, GrammarAroundExpressions) {
  EXPECT_EQ(RepositoryProblem("acme-payments/payments-api"), "");
  EXPECT_EQ(RepositoryProblem("myDockerHub1234/test"), "");  // The brief's own example.
  EXPECT_EQ(RepositoryProblem("registry.example.com:5000/team/api"), "");
  EXPECT_EQ(RepositoryProblem("acme/<+pipeline.variables.SERVICE_NAME>"), "");
  EXPECT_EQ(RepositoryProblem("<+pipeline.variables.IMAGE>"), "");
  EXPECT_EQ(RepositoryProblem("acme/api-<+codebase.shortCommitSha>"), "");
  EXPECT_NE(RepositoryProblem("acme/api:1.2.3"), "");
  EXPECT_NE(RepositoryProblem("acme/api@sha256:" + std::string(64, 'a')), "");
  EXPECT_NE(RepositoryProblem("acme//api"), "");
  EXPECT_NE(RepositoryProblem("acme/api/"), "");
  EXPECT_NE(RepositoryProblem("acme/$(whoami)"), "");
}

// Fuzz-style: references built at random from the grammar's pieces parse and
// reassemble to the same text; random byte edits of them never crash, and
// whatever still parses reassembles to its text.
TEST(ParseImageReference, RandomReferencesRoundTrip) {
  std::mt19937 rng(20261128);
  auto pick = [&](std::initializer_list<const char*> xs) {
    return std::string(
        *(xs.begin() + std::uniform_int_distribution<std::size_t>(0, xs.size() - 1)(rng)));
  };
  auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
  };
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    if (chance(50)) {
      text = pick({"registry.example.com", "harbor.corp.example.com:8443", "localhost",
                   "localhost:5000", "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                   "europe-west1-docker.pkg.dev", "a.b"}) +
             "/";
    }
    const int segments = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int s = 0; s < segments; ++s) {
      if (s > 0) text += '/';
      text +=
          pick({"plugins", "buildah-docker", "a__b", "x.y", "kaniko-ecr", "team-42", "a--b", "0"});
    }
    if (chance(70))
      text += ":" +
              pick({"1.1.0-linux-amd64", "latest", "_x", "V1.2.3", std::string(128, 'v').c_str()});
    if (chance(30)) text += "@" + kDigest;
    auto r = ParseImageReference(text, "step.image");
    ASSERT_TRUE(r.ok()) << text << ": " << r.status();
    const bool hub = absl::StartsWith(text, "docker.io/");
    if (!hub) {
      EXPECT_EQ(Join(*r), text);
    }
    // Mutate one to three bytes and parse again.
    std::string mutated = text;
    for (int m = std::uniform_int_distribution<int>(1, 3)(rng); m > 0; --m) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, mutated.size() - 1)(rng);
      mutated[at] = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    }
    auto m = ParseImageReference(mutated, "step.image");
    if (m.ok()) {
      EXPECT_TRUE(absl::EndsWith(mutated, Join(*m))) << mutated;
    } else {
      EXPECT_TRUE(absl::StartsWith(m.status().message(), "step.image: ")) << m.status();
    }
  }
}

// Proves the one "image without its tag and digest" every layer uses: a
// port is not a tag, a digest goes with the tag before it, and a ':' or '@'
// inside an expression separates nothing. (The pipeline reader's own copy
// kept ":1" in registry:5000/a/b:1@sha256:… .)
TEST(ImageNameOf, DropsTagAndDigestOnly) {
  const std::pair<const char*, const char*> cases[] = {
      {"plugins/kaniko", "plugins/kaniko"},
      {"plugins/kaniko:1.10.1", "plugins/kaniko"},
      {"registry:5000/a/b", "registry:5000/a/b"},
      {"registry:5000/a/b:1", "registry:5000/a/b"},
      {"registry:5000/a/b:1@sha256:0123abcd", "registry:5000/a/b"},
      {"a/b@sha256:0123abcd", "a/b"},
      {"plugins/kaniko:<+pipeline.variables.V>", "plugins/kaniko"},
      {"<+input>", "<+input>"},
      {"harbor/<+stage.variables.a:b>/app:1", "harbor/<+stage.variables.a:b>/app"},
      {"quay.io/acme/<+x@y>", "quay.io/acme/<+x@y>"},
      {"", ""},
  };
  for (const auto& [image, name] : cases) {
    EXPECT_EQ(ImageNameOf(image), name) << image;
  }
}

}  // namespace
}  // namespace buildgate
