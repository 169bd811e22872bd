#include "grammar/allowlist.h"

#include <cstring>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace buildgate {
namespace {

// Proves the rule: `*` stays within a host label or a path segment, `**`
// spans segments, hosts compare case-insensitively.
TEST(AllowlistAdmits, HostAndPathApart) {
  const char kEcr[] = "*.dkr.ecr.us-east-1.amazonaws.com/*";
  EXPECT_TRUE(AllowlistAdmits(kEcr, "123456789012.dkr.ecr.us-east-1.amazonaws.com/api"));
  EXPECT_TRUE(AllowlistAdmits(kEcr, "123456789012.DKR.ECR.us-east-1.amazonaws.com/api"));
  // The bypass: a private registry whose path looks like ECR.
  EXPECT_FALSE(AllowlistAdmits(
      kEcr, "registry.evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com/api"));
  EXPECT_FALSE(
      AllowlistAdmits(kEcr, "evil.example.123456789012.dkr.ecr.us-east-1.amazonaws.com/api"));
  EXPECT_FALSE(
      AllowlistAdmits(kEcr, "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/api"));
  EXPECT_FALSE(AllowlistAdmits(kEcr, "123456789012.dkr.ecr.us-east-1.amazonaws.com:8443/api"));
  EXPECT_FALSE(AllowlistAdmits(kEcr, "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api"));
  EXPECT_TRUE(AllowlistAdmits("*.dkr.ecr.us-east-1.amazonaws.com/**",
                              "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api"));

  EXPECT_TRUE(AllowlistAdmits("docker.io/acme/*", "docker.io/acme/payments-api"));
  EXPECT_FALSE(AllowlistAdmits("docker.io/acme/*", "docker.io/acme/team/payments-api"));
  EXPECT_FALSE(AllowlistAdmits("docker.io/acme/*", "docker.io/acmex/web"));
  EXPECT_TRUE(AllowlistAdmits("docker.io/acme/**", "docker.io/acme/team/payments-api"));
  EXPECT_TRUE(AllowlistAdmits("docker.io/acme/**/api", "docker.io/acme/api"));
  EXPECT_TRUE(AllowlistAdmits("docker.io/acme/**/api", "docker.io/acme/a/b/api"));
  EXPECT_FALSE(AllowlistAdmits("docker.io/acme/**/api", "docker.io/acme/a/b/api2"));
  EXPECT_TRUE(
      AllowlistAdmits("registry.example.com:*/acme/*", "registry.example.com:5000/acme/api"));
  EXPECT_FALSE(
      AllowlistAdmits("registry.example.com/acme/*", "registry.example.com:5000/acme/api"));
  EXPECT_TRUE(
      AllowlistAdmits("us-docker.pkg.dev/acme-*/**", "us-docker.pkg.dev/acme-prod/images/api"));
  EXPECT_FALSE(
      AllowlistAdmits("us-docker.pkg.dev/acme-*/**", "us-docker.pkg.dev/other/acme-x/api"));
  EXPECT_FALSE(
      AllowlistAdmits("docker.io/Acme/*", "docker.io/acme/api"));  // Paths are case-sensitive.
}

// Proves inclusion: narrower patterns are covered, anything that could admit
// more is not (the tighten-only rule of overrides).
TEST(AllowlistCovers, OnlyWhatAdmitsLess) {
  EXPECT_TRUE(AllowlistCovers("docker.io/acme/*", "docker.io/acme/web"));
  EXPECT_TRUE(AllowlistCovers("docker.io/acme/*", "docker.io/acme/team-*"));
  EXPECT_TRUE(AllowlistCovers("docker.io/acme/**", "docker.io/acme/*"));
  EXPECT_TRUE(AllowlistCovers("docker.io/acme/**", "docker.io/acme/**/api"));
  EXPECT_TRUE(
      AllowlistCovers("*.dkr.ecr.*.amazonaws.com/*", "1.dkr.ecr.us-east-1.amazonaws.com/*"));
  EXPECT_FALSE(AllowlistCovers("docker.io/acme/*", "docker.io/*"));
  EXPECT_FALSE(AllowlistCovers("docker.io/acme/*", "docker.io/acme/**"));
  EXPECT_FALSE(AllowlistCovers("*.io/*", "*/*"));
  EXPECT_FALSE(AllowlistCovers("*.dkr.ecr.us-east-1.amazonaws.com/*", "*/*"));
  EXPECT_FALSE(AllowlistCovers("docker.io/acme/*", "docker.io/acme*/x"));
}

// Proves pattern validation names what is wrong.
TEST(AllowlistPatternProblem, Shapes) {
  EXPECT_EQ(AllowlistPatternProblem("docker.io/acme/**"), "");
  EXPECT_NE(AllowlistPatternProblem("docker.io"), "");
  EXPECT_NE(AllowlistPatternProblem("/acme/*"), "");
  EXPECT_NE(AllowlistPatternProblem("docker.io/acme**/x"), "");
}

// An independent matcher from the rule's words, by regular expression:
// the expression for a pattern (matched against a target whose host is
// lower-cased).
std::regex ReferenceRegex(const std::string& pattern) {
  auto escape = [](char c) {
    return std::string(std::strchr(".^$|()[]{}+?\\", c) ? "\\" : "") + c;
  };
  const std::size_t slash = pattern.find('/');
  std::string re;
  for (char c : absl::AsciiStrToLower(pattern.substr(0, slash)))
    re += c == '*' ? "[^.:/]*" : escape(c);
  for (absl::string_view segment : absl::StrSplit(pattern.substr(slash + 1), '/')) {
    if (segment == "**") {
      re += "(/[^/]*)*";
      continue;
    }
    re += "/";
    for (char c : segment) re += c == '*' ? "[^/]*" : escape(c);
  }
  return std::regex(re);
}

std::string LowerHost(const std::string& target) {
  const std::size_t slash = target.find('/');
  return absl::AsciiStrToLower(target.substr(0, slash)) +
         (slash == std::string::npos ? "" : target.substr(slash));
}

std::string Pick(std::mt19937& rng, const std::vector<std::string>& from) {
  return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
}

// Random patterns over a small alphabet of labels and segments, so matches
// and near misses are both common.
std::string RandomPattern(std::mt19937& rng) {
  static const std::vector<std::string> labels = {"*",   "acme", "ac*",    "*me",
                                                  "dkr", "io",   "example"};
  static const std::vector<std::string> segments = {"*", "**", "acme", "api", "a*", "*i", "team"};
  std::string host = Pick(rng, labels);
  const int extra = std::uniform_int_distribution<int>(0, 2)(rng);
  for (int i = 0; i < extra; ++i) host += (rng() % 5 == 0 ? ":" : ".") + Pick(rng, labels);
  std::vector<std::string> path;
  const int n = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int i = 0; i < n; ++i) path.push_back(Pick(rng, segments));
  return host + "/" + absl::StrJoin(path, "/");
}

// Adversarial targets: look-alike hosts, ports, extra segments, upper case,
// expressions.
std::string RandomTarget(std::mt19937& rng) {
  static const std::vector<std::string> labels = {"acme", "ACME",    "io", "dkr", "example",
                                                  "evil", "acme.io", "a",  "me"};
  static const std::vector<std::string> segments = {
      "acme", "api", "team", "ai", "x", "acme.io", "<+pipeline.variables.repo>", "dkr.io"};
  std::string host = Pick(rng, labels);
  const int extra = std::uniform_int_distribution<int>(0, 3)(rng);
  for (int i = 0; i < extra; ++i) host += (rng() % 6 == 0 ? ":" : ".") + Pick(rng, labels);
  std::vector<std::string> path;
  const int n = std::uniform_int_distribution<int>(1, 4)(rng);
  for (int i = 0; i < n; ++i) path.push_back(Pick(rng, segments));
  return host + "/" + absl::StrJoin(path, "/");
}

// Proves the matcher agrees with the reference on random patterns and
// adversarial targets, and that inclusion is sound: whenever a narrower
// pattern is accepted as covered, it admits no target the wider refuses.
TEST(AllowlistProperties, MatchesReferenceAndCoverIsSound) {
  std::mt19937 rng(20261128);
  std::vector<std::string> patterns, targets;
  for (int i = 0; i < 300; ++i) patterns.push_back(RandomPattern(rng));
  for (int i = 0; i < 200; ++i) targets.push_back(RandomTarget(rng));
  int admitted = 0, covered_pairs = 0;
  for (const auto& p : patterns) {
    const std::regex reference = ReferenceRegex(p);
    for (const auto& t : targets) {
      const bool got = AllowlistAdmits(p, t);
      ASSERT_EQ(got, std::regex_match(LowerHost(t), reference)) << p << " vs " << t;
      admitted += got;
    }
  }
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    for (std::size_t j = 0; j < patterns.size(); j += 2) {
      if (!AllowlistCovers(patterns[i], patterns[j])) continue;
      ++covered_pairs;
      for (const auto& t : targets) {
        if (AllowlistAdmits(patterns[j], t)) {
          ASSERT_TRUE(AllowlistAdmits(patterns[i], t))
              << patterns[j] << " accepted as within " << patterns[i] << " but admits " << t;
        }
      }
    }
    ASSERT_TRUE(AllowlistCovers(patterns[i], patterns[i])) << patterns[i];
  }
  // The random sets must exercise both answers.
  EXPECT_GT(admitted, 100);
  EXPECT_GT(covered_pairs, 200);
}

// Proves AllowlistAdmitsEveryValue is sound: when it says a pattern admits
// a target whatever its expressions turn out to be, every substitution of
// the expressions (including values with '/', dots, upper case and nothing)
// is admitted; and a pattern whose host refuses the target's host admits no
// substitution. Both answers must occur.
TEST(AllowlistProperties, ExpressionTargetsAreJudgedForEveryValue) {
  std::mt19937 rng(1128);
  static const std::vector<std::string> values = {"",      "api",  "team/api",    "acme",
                                                  "a/b/c", "ACME", "acme.io",     "x*y",
                                                  "..",    "api/", "dkr.io/acme", "acme/api/extra"};
  static const std::vector<std::string> hosts = {"acme.io", "dkr.io", "example.io", "ACME.io:5000"};
  static const std::vector<std::string> segments = {"acme", "api", "team", "x"};
  const std::string expression = "<+pipeline.variables.SERVICE>";
  int every = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    // Pattern hosts that often admit the target's host, paths rich in `**`.
    static const std::vector<std::string> pattern_hosts = {"acme.io", "*.io", "dkr.io", "*.io:*",
                                                           "acme.*"};
    static const std::vector<std::string> pattern_segments = {"**", "**", "*", "acme", "api", "a*"};
    std::vector<std::string> pattern_path;
    const int pn = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int k = 0; k < pn; ++k) pattern_path.push_back(Pick(rng, pattern_segments));
    const std::string pattern = Pick(rng, pattern_hosts) + "/" + absl::StrJoin(pattern_path, "/");
    std::vector<std::string> path;
    const int n = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int k = 0; k < n; ++k) {
      const int kind = std::uniform_int_distribution<int>(0, 4)(rng);
      path.push_back(kind == 0   ? expression
                     : kind == 1 ? "api-" + expression
                                 : Pick(rng, segments));
    }
    const std::string host = Pick(rng, hosts);
    const std::string target = host + "/" + absl::StrJoin(path, "/");
    auto substitute = [&](const std::string& value) {
      return absl::StrReplaceAll(target, {{expression, value}});
    };
    if (AllowlistAdmitsEveryValue(pattern, target)) {
      ++every;
      for (const std::string& v : values) {
        ASSERT_TRUE(AllowlistAdmits(pattern, substitute(v)))
            << pattern << " said to admit every value of " << target << " but refuses "
            << substitute(v);
      }
    }
    if (!AllowlistHostAdmits(pattern, host)) {
      ++refused;
      for (const std::string& v : values) ASSERT_FALSE(AllowlistAdmits(pattern, substitute(v)));
    }
  }
  EXPECT_GT(every, 50);
  EXPECT_GT(refused, 50);
}

}  // namespace
}  // namespace buildgate
