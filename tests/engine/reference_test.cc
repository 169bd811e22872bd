#include "engine/reference.h"

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
      {"docker.io/plugins/buildah-docker:1.1.0-linux-amd64", "", "plugins/buildah-docker", "1.1.0-linux-amd64", ""},
      {"index.docker.io/plugins/docker:latest", "", "plugins/docker", "latest", ""},
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

}  // namespace
}  // namespace buildgate
