#include "lint/policy_diff.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "engine/enum_names.h"

namespace buildgate::lint {
namespace {

std::string Describe(const v1::BuildOutcome& o) {
  if (o.verdict() == v1::VERDICT_UNSPECIFIED) {
    return o.rule() == v1::REASON_CODE_UNSPECIFIED ? "not a build" : "undecidable";
  }
  std::string out(EnumName(o.verdict()));
  if (o.verdict() == v1::VERDICT_DENY) return absl::StrCat(out, " (", EnumName(o.rule()), ")");
  absl::StrAppend(&out, " ", EnumName(o.builder()));
  if (o.has_privileged()) absl::StrAppend(&out, o.privileged() ? " privileged" : " unprivileged");
  if (o.has_run_as_user()) absl::StrAppend(&out, " uid ", o.run_as_user());
  return out;
}

bool SameOutcome(const v1::BuildOutcome& a, const v1::BuildOutcome& b) {
  // The rule explains; it is not part of what changes for the pipeline.
  return a.verdict() == b.verdict() && a.builder() == b.builder() &&
         a.has_privileged() == b.has_privileged() && a.privileged() == b.privileged() &&
         a.has_run_as_user() == b.has_run_as_user() && a.run_as_user() == b.run_as_user();
}

}  // namespace

v1::BuildOutcome OutcomeOf(const v1::Finding& f) {
  v1::BuildOutcome o;
  o.set_verdict(f.verdict());
  o.set_rule(f.rule());
  if (f.verdict() == v1::VERDICT_ALLOW || f.verdict() == v1::VERDICT_ALLOW_WITH_CHANGES) {
    const v1::Decision& d = f.decision();
    o.set_builder(d.builder());
    if (d.has_privileged()) o.set_privileged(d.privileged());
    if (d.has_run_as_user()) o.set_run_as_user(d.run_as_user());
  }
  return o;
}

void AddDocumentDiff(const v1::LintReport& from, const v1::LintReport& to, v1::PolicyDiff* diff) {
  std::map<std::string, const v1::Finding*> after;
  for (const v1::Finding& f : to.findings()) after[f.location().yaml_path()] = &f;
  std::map<std::string, bool> seen;
  auto record = [&](const v1::Finding& base, const v1::BuildOutcome& old_outcome,
                    const v1::BuildOutcome& new_outcome) {
    v1::DecisionChange* c = diff->add_changes();
    *c->mutable_location() = base.location();
    c->set_stage_id(base.stage_id());
    c->set_step_id(base.step_id());
    c->set_harness_step_type(base.harness_step_type());
    *c->mutable_from() = old_outcome;
    *c->mutable_to() = new_outcome;
    diff->set_changed(diff->changed() + 1);
  };
  for (const v1::Finding& f : from.findings()) {
    diff->set_builds(diff->builds() + 1);
    seen[f.location().yaml_path()] = true;
    const auto it = after.find(f.location().yaml_path());
    // A build only one policy sees (a mirror listed in one of them) is a
    // change from or to "not a build" (verdict unset, no rule).
    const v1::BuildOutcome new_outcome =
        it == after.end() ? v1::BuildOutcome() : OutcomeOf(*it->second);
    const v1::BuildOutcome old_outcome = OutcomeOf(f);
    if (!SameOutcome(old_outcome, new_outcome)) record(f, old_outcome, new_outcome);
  }
  for (const v1::Finding& f : to.findings()) {
    if (seen.count(f.location().yaml_path())) continue;
    diff->set_builds(diff->builds() + 1);
    record(f, v1::BuildOutcome(), OutcomeOf(f));
  }
}

void FinishDiff(v1::PolicyDiff* diff) {
  std::map<std::pair<int, int>, int> counts;
  for (const v1::DecisionChange& c : diff->changes()) {
    ++counts[{c.from().verdict(), c.to().verdict()}];
  }
  std::vector<std::tuple<int, int, int>> groups;  // (-count, from, to)
  for (const auto& [key, n] : counts) groups.emplace_back(-n, key.first, key.second);
  std::sort(groups.begin(), groups.end());
  diff->clear_groups();
  for (const auto& [neg, from, to] : groups) {
    v1::DiffGroup* g = diff->add_groups();
    g->set_from(static_cast<v1::Verdict>(from));
    g->set_to(static_cast<v1::Verdict>(to));
    g->set_count(-neg);
  }
}

std::string PolicyDiffToText(const v1::PolicyDiff& diff) {
  std::string out = absl::StrCat("policy ", diff.from_policy(), " -> ", diff.to_policy(), ": ",
                                 diff.changed(), " of ", diff.builds(), " builds in ",
                                 diff.files(), diff.files() == 1 ? " file" : " files",
                                 " change\n");
  for (const v1::DiffGroup& g : diff.groups()) {
    auto name = [](v1::Verdict v) {
      return v == v1::VERDICT_UNSPECIFIED ? absl::string_view("UNDECIDABLE") : EnumName(v);
    };
    absl::StrAppend(&out, "  ", g.count(), "  ", name(g.from()), " -> ", name(g.to()), "\n");
  }
  for (const v1::DecisionChange& c : diff.changes()) {
    absl::StrAppend(&out, c.location().file(), ":", c.location().line(), ":",
                    c.location().column(), "  ", c.harness_step_type(), " ", c.step_id(), "\n",
                    "    ", Describe(c.from()), "  ->  ", Describe(c.to()), "\n");
  }
  for (const std::string& e : diff.errors()) absl::StrAppend(&out, "error: ", e, "\n");
  return out;
}

}  // namespace buildgate::lint
