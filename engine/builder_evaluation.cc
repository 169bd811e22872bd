#include "engine/internal/builder_evaluation.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/enum_names.h"
#include "engine/policy.h"

namespace buildgate {

v1::Reason MakeReason(v1::ReasonCode code, v1::Builder builder, std::string message) {
  v1::Reason r;
  r.set_code(code);
  r.set_builder(builder);
  r.set_message(std::move(message));
  return r;
}

namespace {

bool Contains(const google::protobuf::RepeatedField<int>& list, int value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Why one run profile cannot be used; empty when it can.
std::vector<v1::Reason> ProfileProblems(const v1::BuilderSpec& spec, const v1::RunProfile& profile,
                                        const v1::Policy& policy, const ContainerSecurity& sec,
                                        v1::Pss satisfied) {
  std::vector<v1::Reason> out;
  const v1::Builder b = spec.builder();
  const std::string who = absl::StrCat(spec.display_name(), " (", profile.name(), ")");
  if (profile.run_as_root() && policy.root() == v1::ROOT_FORBIDDEN) {
    out.push_back(MakeReason(v1::ROOT_NOT_ALLOWED, b,
                             absl::StrCat(who, " runs as root (UID 0); the policy forbids root")));
  }
  if (!profile.run_as_root() && !AllowsUid(policy, sec.uid)) {
    out.push_back(MakeReason(
        v1::UID_OUT_OF_RANGE, b,
        absl::StrCat(who, " runs as UID ", sec.uid, ", outside allowed_uids [",
                     policy.allowed_uids().min(), ", ", policy.allowed_uids().max(), "]")));
  }
  if (profile.privileged() && policy.privileged() == v1::PRIVILEGED_FORBIDDEN) {
    out.push_back(
        MakeReason(v1::PRIVILEGED_NOT_ALLOWED, b,
                   absl::StrCat(who, " needs privileged: true; the policy forbids privileged")));
  }
  if (policy.platform() == v1::PLATFORM_OPENSHIFT && !AnySccAdmits(policy.openshift_sccs(), sec)) {
    out.push_back(MakeReason(
        v1::SCC_NOT_GRANTED, b,
        absl::StrCat(who, " needs the ", EnumName(LeastSccAdmitting(sec)),
                     " SCC (or a more permissive one); granted: ",
                     policy.openshift_sccs().empty()
                         ? std::string("none (restricted-v2 only)")
                         : absl::StrJoin(policy.openshift_sccs(), ", ", [](std::string* o, int s) {
                             absl::StrAppend(o, EnumName(static_cast<v1::Scc>(s)));
                           }))));
  }
  if (!PodSecurityAdmits(policy.pod_security(), satisfied)) {
    out.push_back(
        MakeReason(v1::POD_SECURITY_VIOLATION, b,
                   absl::StrCat(who, " needs Pod Security ", EnumName(satisfied),
                                "; the namespace enforces ", EnumName(policy.pod_security()))));
  }
  return out;
}

}  // namespace

absl::string_view ArchName(v1::Arch arch) {
  return arch == v1::ARCH_ARM64 ? "arm64" : "amd64";
}

BuilderEvaluation EvaluateBuilder(const v1::BuilderSpec& spec, const v1::Policy& policy,
                                  v1::Destination destination, v1::Arch arch,
                                  bool simple_dockerfile) {
  BuilderEvaluation ev;
  const v1::Builder b = spec.builder();
  if (arch == v1::ARCH_UNSPECIFIED) arch = v1::ARCH_AMD64;
  if (!AllowsBuilder(policy, b)) {
    ev.reasons.push_back(
        MakeReason(v1::BUILDER_NOT_ALLOWED, b,
                   absl::StrCat(spec.display_name(), " is not in the policy's allowed_builders")));
  }
  const v1::DestinationImage* image = nullptr;
  for (const auto& i : spec.images()) {
    if (i.destination() == destination) image = &i;
  }
  if (image == nullptr) {
    ev.reasons.push_back(
        MakeReason(v1::DESTINATION_UNSUPPORTED, b,
                   absl::StrCat(spec.display_name(), " has no image for ", EnumName(destination))));
  } else if (!Contains(image->architectures(), arch)) {
    ev.reasons.push_back(
        MakeReason(v1::ARCHITECTURE_UNSUPPORTED, b,
                   absl::StrCat(image->repository(), " is not published for ", ArchName(arch))));
  }
  if (!spec.enabling_feature_flags().empty()) {
    ev.needs_enabling_flag =
        std::none_of(spec.enabling_feature_flags().begin(), spec.enabling_feature_flags().end(),
                     [&](const std::string& f) { return FeatureFlagOn(policy, f); });
  }
  for (const auto& f : spec.displacing_feature_flags()) {
    if (FeatureFlagOn(policy, f)) {
      ev.reasons.push_back(
          MakeReason(v1::DISPLACED_BY_FEATURE_FLAG, b,
                     absl::StrCat("with ", f,
                                  " on, Harness runs Build and Push steps with another builder "
                                  "instead of ",
                                  spec.display_name())));
    }
  }
  // Run profiles: the first applicable one the policy admits wins.
  std::vector<v1::Reason> profile_reasons;
  bool any_applicable = false;
  bool needs_simple = false;
  for (int i = 0; i < spec.profiles_size(); ++i) {
    const v1::RunProfile& profile = spec.profiles(i);
    if (!profile.platforms().empty() && !Contains(profile.platforms(), policy.platform())) continue;
    if (profile.requires_simple_dockerfile() && !simple_dockerfile) {
      needs_simple = true;
      continue;
    }
    any_applicable = true;
    ContainerSecurity sec;
    sec.uid =
        profile.run_as_root() ? 0 : (profile.has_uid() ? profile.uid() : policy.non_root_uid());
    sec.privileged = profile.privileged();
    sec.allow_privilege_escalation = profile.allow_privilege_escalation();
    sec.capabilities.assign(profile.capabilities().begin(), profile.capabilities().end());
    const v1::Pss satisfied = SatisfiedPodSecurityLevel(sec);
    std::vector<v1::Reason> problems = ProfileProblems(spec, profile, policy, sec, satisfied);
    if (problems.empty() && ev.profile < 0) {
      ev.profile = i;
      ev.security = std::move(sec);
      ev.satisfied_pss = satisfied;
      break;
    }
    for (auto& r : problems) profile_reasons.push_back(std::move(r));
  }
  if (ev.profile < 0) {
    if (!any_applicable) {
      const bool simple_would_help = needs_simple && !simple_dockerfile;
      ev.reasons.push_back(MakeReason(
          simple_would_help ? v1::SIMPLE_DOCKERFILE_REQUIRED : v1::PLATFORM_UNSUPPORTED, b,
          simple_would_help
              ? absl::StrCat(spec.display_name(),
                             " only runs here for a simple Dockerfile (no package installs, "
                             "chown or user creation)")
              : absl::StrCat(spec.display_name(), " has no run profile for ",
                             EnumName(policy.platform()))));
    }
    for (auto& r : profile_reasons) ev.reasons.push_back(std::move(r));
  }
  ev.admissible = ev.reasons.empty() && ev.profile >= 0;
  return ev;
}

StepFit CheckStepFit(const v1::BuilderSpec& spec, const BuilderEvaluation& ev,
                     const v1::BuildStep& step, v1::Destination destination) {
  StepFit fit;
  fit.flag_missing = ev.needs_enabling_flag && !(step.caching() && spec.enabled_by_caching());
  if (step.dry_run()) {
    const auto& d = spec.dry_run().destinations();
    fit.dry_run_unsupported = std::find(d.begin(), d.end(), destination) == d.end();
  }
  return fit;
}

}  // namespace buildgate
