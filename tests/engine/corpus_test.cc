// Runs every case in tests/cases through the engine: compile the case's
// policy set, Decide on its step, compare with the expected decision.
#include <string>

#include "absl/strings/str_join.h"
#include "engine/compiled_policy.h"
#include "engine/decide.h"
#include "gtest/gtest.h"
#include "tests/testing/corpus.h"

namespace buildgate {
namespace {

class EngineCorpus : public ::testing::TestWithParam<testing::CorpusCase> {};

// Proves the engine gives each corpus case's expected decision (or error).
TEST_P(EngineCorpus, DecisionMatchesExpectation) {
  const v1::DecisionCase& c = GetParam().data;
  v1::Decision decision;
  absl::Status status;
  auto compiled = CompiledPolicySet::Compile(c.policy_set());
  if (!compiled.ok()) {
    status = compiled.status();
  } else {
    status = Decide(**compiled, c.step(), &decision);
  }
  const auto mismatches = testing::CheckOutcome(c, status, decision);
  EXPECT_TRUE(mismatches.empty()) << GetParam().name << ": " << c.description() << "\n  "
                                  << absl::StrJoin(mismatches, "\n  ") << "\n"
                                  << decision.DebugString();
}

// Proves the BASIC view of each corpus case's decision is its FULL decision
// with the FULL-only fields left empty, byte for byte.
TEST_P(EngineCorpus, BasicViewIsTheFullDecisionTrimmed) {
  const v1::DecisionCase& c = GetParam().data;
  auto compiled = CompiledPolicySet::Compile(c.policy_set());
  v1::Decision full;
  if (!compiled.ok() || !Decide(**compiled, c.step(), &full).ok()) GTEST_SKIP() << "no decision";
  EXPECT_EQ(testing::BasicViewMismatch(**compiled, c.step(), full), "") << GetParam().name;
}

// Proves a decision through the shape memo is the fresh decision, byte for
// byte, in both views.
TEST_P(EngineCorpus, MemoizedDecisionIsTheFreshOne) {
  const v1::DecisionCase& c = GetParam().data;
  auto compiled = CompiledPolicySet::Compile(c.policy_set());
  if (!compiled.ok()) GTEST_SKIP() << "does not compile";
  EXPECT_EQ(testing::MemoMismatch(**compiled, c.step()), "") << GetParam().name;
}

// Proves no reason a person reads shows the catalog's internal source notes
// ("brief; kaniko issues #105, ..."): where a fact comes from stays in the
// catalog and the docs.
TEST_P(EngineCorpus, ReasonsShowNoCatalogSourceNotes) {
  const v1::DecisionCase& c = GetParam().data;
  auto compiled = CompiledPolicySet::Compile(c.policy_set());
  v1::Decision decision;
  if (!compiled.ok() || !Decide(**compiled, c.step(), &decision).ok()) GTEST_SKIP() << "no decision";
  std::vector<std::string> sources;
  for (const v1::BuilderSpec& spec : (*compiled)->catalog().builders()) {
    if (!spec.source().empty()) sources.push_back(spec.source());
    for (const v1::RunProfile& profile : spec.profiles()) {
      if (!profile.source().empty()) sources.push_back(profile.source());
    }
  }
  auto check = [&](const v1::Reason& r) {
    for (const std::string& source : sources) {
      EXPECT_EQ(r.message().find(source), std::string::npos)
          << GetParam().name << ": " << r.message() << " shows the source note " << source;
    }
  };
  for (const v1::Reason& r : decision.reasons()) check(r);
  for (const v1::RejectedBuilder& rb : decision.rejected_builders()) {
    for (const v1::Reason& r : rb.reasons()) check(r);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, EngineCorpus,
                         ::testing::ValuesIn(testing::LoadCorpus(BUILDGATE_SOURCE_DIR "/tests/cases")),
                         [](const auto& info) {
                           std::string name = info.param.name.substr(0, info.param.name.size() - 5);
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace buildgate
