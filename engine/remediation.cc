#include "engine/internal/remediation.h"

#include <algorithm>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/internal/builder_evaluation.h"
#include "engine/enum_names.h"
#include "engine/policy.h"

namespace buildgate {
namespace {

// One candidate policy (or step) change.
struct Relaxation {
  std::vector<std::string> changes;  // "field: from -> to"
  std::function<void(v1::Policy*, v1::Arch*)> apply;
};

std::vector<Relaxation> CandidateRelaxations(const v1::BuilderSpec& spec, const v1::Policy& p,
                                             v1::Arch arch) {
  std::vector<Relaxation> out;
  if (p.root() == v1::ROOT_FORBIDDEN) {
    out.push_back(
        {{"root: ROOT_FORBIDDEN -> ROOT_BUILD_STEP_ONLY"},
         [](v1::Policy* q, v1::Arch*) { q->set_root(v1::ROOT_BUILD_STEP_ONLY); }});
  }
  if (p.privileged() == v1::PRIVILEGED_FORBIDDEN) {
    out.push_back(
        {{"privileged: PRIVILEGED_FORBIDDEN -> PRIVILEGED_ALLOWED"},
         [](v1::Policy* q, v1::Arch*) { q->set_privileged(v1::PRIVILEGED_ALLOWED); }});
  }
  const v1::Builder b = spec.builder();
  if (!AllowsBuilder(p, b)) {
    out.push_back({{absl::StrCat("allowed_builders: + ", EnumName(b))},
                   [b](v1::Policy* q, v1::Arch*) { q->add_allowed_builders(b); }});
  }
  if (!spec.enabling_feature_flags().empty() &&
      std::none_of(spec.enabling_feature_flags().begin(), spec.enabling_feature_flags().end(),
                   [&](const std::string& f) { return FeatureFlagOn(p, f); })) {
    const std::string flag = spec.enabling_feature_flags(0);
    out.push_back({{absl::StrCat("feature_flags: + ", flag)},
                   [flag](v1::Policy* q, v1::Arch*) { q->add_feature_flags(flag); }});
  }
  for (const std::string& flag : spec.displacing_feature_flags()) {
    if (!FeatureFlagOn(p, flag)) continue;
    out.push_back(
        {{absl::StrCat("feature_flags: - ", flag)}, [flag](v1::Policy* q, v1::Arch*) {
           auto* flags = q->mutable_feature_flags();
           flags->erase(std::remove(flags->begin(), flags->end(), flag), flags->end());
         }});
  }
  if (p.platform() == v1::PLATFORM_OPENSHIFT) {
    for (v1::Scc scc : {v1::SCC_ANYUID, v1::SCC_PRIVILEGED}) {
      if (std::find(p.openshift_sccs().begin(), p.openshift_sccs().end(), scc) !=
          p.openshift_sccs().end()) {
        continue;
      }
      out.push_back({{absl::StrCat("openshift_sccs: + ", EnumName(scc))},
                     [scc](v1::Policy* q, v1::Arch*) { q->add_openshift_sccs(scc); }});
    }
  } else {
    out.push_back(
        {{"platform: PLATFORM_KUBERNETES -> PLATFORM_OPENSHIFT", "openshift_sccs: + SCC_ANYUID"},
         [](v1::Policy* q, v1::Arch*) {
           q->set_platform(v1::PLATFORM_OPENSHIFT);
           q->add_openshift_sccs(v1::SCC_ANYUID);
         }});
  }
  if (p.pod_security() == v1::PSS_RESTRICTED) {
    out.push_back(
        {{"pod_security: PSS_RESTRICTED -> PSS_BASELINE"},
         [](v1::Policy* q, v1::Arch*) { q->set_pod_security(v1::PSS_BASELINE); }});
  }
  if (p.pod_security() == v1::PSS_RESTRICTED || p.pod_security() == v1::PSS_BASELINE) {
    out.push_back(
        {{absl::StrCat("pod_security: ", EnumName(p.pod_security()), " -> PSS_PRIVILEGED")},
         [](v1::Policy* q, v1::Arch*) { q->set_pod_security(v1::PSS_PRIVILEGED); }});
  }
  for (const v1::RunProfile& profile : spec.profiles()) {
    if (!profile.has_uid()) continue;
    const int64_t uid = profile.uid();
    if (AllowsUid(p, uid)) continue;
    out.push_back(
        {{absl::StrCat("allowed_uids: include ", uid)}, [uid](v1::Policy* q, v1::Arch*) {
           auto* r = q->mutable_allowed_uids();
           r->set_min(std::min(r->min(), uid));
           r->set_max(std::max(r->max(), uid));
         }});
  }
  if (arch == v1::ARCH_ARM64) {
    out.push_back({{"step.arch: ARCH_ARM64 -> ARCH_AMD64 (run the step on an amd64 node)"},
                   [](v1::Policy*, v1::Arch* a) { *a = v1::ARCH_AMD64; }});
  }
  return out;
}

}  // namespace

std::vector<v1::Remediation> FindRemediations(const CompiledScope& scope, const v1::BuildStep& step,
                                              v1::Destination destination, v1::Arch arch) {
  std::vector<v1::Remediation> out;
  for (const CompiledBuilder& cb : scope.builders) {
    const v1::BuilderSpec& spec = *cb.spec;
    const std::vector<Relaxation> relax = CandidateRelaxations(spec, scope.policy, arch);
    const int n = static_cast<int>(relax.size());
    std::vector<std::vector<int>> found;
    auto try_combo = [&](const std::vector<int>& combo) {
      v1::Policy p = scope.policy;
      v1::Arch a = arch;
      for (int i : combo) relax[i].apply(&p, &a);
      const BuilderEvaluation ev =
          EvaluateBuilder(spec, p, destination, a, step.simple_dockerfile());
      if (ev.admissible && CheckStepFit(spec, ev, step, destination).ok()) found.push_back(combo);
    };
    for (int size = 1; size <= kMaxRemediationChanges && size <= n && found.empty(); ++size) {
      std::vector<int> combo(size);
      std::function<void(int, int)> rec = [&](int start, int depth) {
        if (depth == size) {
          try_combo(combo);
          return;
        }
        for (int i = start; i < n; ++i) {
          combo[depth] = i;
          rec(i + 1, depth + 1);
        }
      };
      rec(0, 0);
    }
    for (std::size_t k = 0; k < found.size() && k < 3; ++k) {
      v1::Remediation r;
      r.set_builder(spec.builder());
      for (int i : found[k]) {
        for (const auto& c : relax[i].changes) r.add_policy_changes(c);
      }
      r.set_message(absl::StrCat(spec.display_name(), " would be admitted with: ",
                                 absl::StrJoin(r.policy_changes(), "; ")));
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace buildgate
