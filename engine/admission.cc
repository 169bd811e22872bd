#include "engine/admission.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace buildgate {
namespace {

// Capabilities the PSS baseline level allows adding.
constexpr std::array<absl::string_view, 13> kBaselineCapabilities = {
    "AUDIT_WRITE", "CHOWN",  "DAC_OVERRIDE", "FOWNER", "FSETID",  "KILL",      "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"};

// CRI-O's default capabilities on OpenShift; anyuid keeps these (it drops MKNOD).
constexpr std::array<absl::string_view, 9> kOpenShiftDefaultCapabilities = {
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "SETGID", "SETUID", "SETPCAP",
    "NET_BIND_SERVICE", "KILL"};

// The volume types the restricted level allows.
constexpr std::array<absl::string_view, 8> kRestrictedVolumeTypes = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret"};

template <std::size_t N>
bool AllIn(const std::vector<std::string>& caps, const std::array<absl::string_view, N>& set) {
  return std::all_of(caps.begin(), caps.end(), [&](const std::string& c) {
    return std::find(set.begin(), set.end(), c) != set.end();
  });
}

bool OnlyNetBindService(const std::vector<std::string>& caps) {
  return std::all_of(caps.begin(), caps.end(),
                     [](const std::string& c) { return c == "NET_BIND_SERVICE"; });
}

}  // namespace

v1::Pss SatisfiedPodSecurityLevel(const ContainerSecurity& c) {
  if (c.privileged || !AllIn(c.capabilities, kBaselineCapabilities)) return v1::PSS_PRIVILEGED;
  if (c.uid == 0 || c.allow_privilege_escalation || !OnlyNetBindService(c.capabilities)) {
    return v1::PSS_BASELINE;
  }
  return v1::PSS_RESTRICTED;
}

std::vector<std::string> RestrictedPodSecurityViolations(const PodSecurityFacts& pod) {
  std::vector<std::string> found;
  if (pod.host_network) found.push_back("spec.hostNetwork must not be true");
  if (pod.host_pid) found.push_back("spec.hostPID must not be true");
  if (pod.host_ipc) found.push_back("spec.hostIPC must not be true");
  for (const std::string& type : pod.volume_types) {
    if (std::find(kRestrictedVolumeTypes.begin(), kRestrictedVolumeTypes.end(), type) ==
        kRestrictedVolumeTypes.end()) {
      found.push_back(absl::StrCat("spec.volumes: type ", type, " is not allowed"));
    }
  }
  for (const PodSecurityFacts::Container& c : pod.containers) {
    const std::string at = absl::StrCat("container ", c.name, ": ");
    // The container's own facts, by the same rule build steps are judged by.
    if (SatisfiedPodSecurityLevel(c.security) != v1::PSS_RESTRICTED) {
      std::vector<std::string> why;
      if (c.security.privileged) why.push_back("privileged");
      if (c.security.uid == 0) why.push_back("runs as UID 0");
      if (c.security.allow_privilege_escalation) why.push_back("allows privilege escalation");
      if (!OnlyNetBindService(c.security.capabilities)) {
        why.push_back(absl::StrCat("adds capabilities ", absl::StrJoin(c.security.capabilities, ",")));
      }
      found.push_back(absl::StrCat(at, "only meets ",
                                   SatisfiedPodSecurityLevel(c.security) == v1::PSS_BASELINE
                                       ? "baseline"
                                       : "privileged",
                                   " (", absl::StrJoin(why, ", "), ")"));
    }
    if (!c.run_as_non_root) found.push_back(at + "securityContext.runAsNonRoot must be true");
    if (!c.drops_all_capabilities) found.push_back(at + "securityContext.capabilities.drop must hold ALL");
    if (c.seccomp_profile != "RuntimeDefault" && c.seccomp_profile != "Localhost") {
      found.push_back(absl::StrCat(at, "securityContext.seccompProfile.type must be RuntimeDefault or Localhost",
                                   c.seccomp_profile.empty() ? " (unset)" : absl::StrCat(" (is ", c.seccomp_profile, ")")));
    }
    if (c.host_port) found.push_back(at + "ports[].hostPort must not be set");
  }
  return found;
}

bool PodSecurityAdmits(v1::Pss enforced, v1::Pss satisfied) {
  return enforced == v1::PSS_UNSPECIFIED || satisfied >= enforced;
}

bool SccAdmits(v1::Scc scc, const ContainerSecurity& c) {
  switch (scc) {
    case v1::SCC_PRIVILEGED:
      return true;
    case v1::SCC_ANYUID:
      return !c.privileged && AllIn(c.capabilities, kOpenShiftDefaultCapabilities);
    case v1::SCC_NONROOT_V2:
      return !c.privileged && c.uid != 0 && !c.allow_privilege_escalation &&
             OnlyNetBindService(c.capabilities);
    default:  // restricted-v2: UID must come from the namespace range.
      return false;
  }
}

v1::Scc LeastSccAdmitting(const ContainerSecurity& c) {
  for (v1::Scc scc : {v1::SCC_NONROOT_V2, v1::SCC_ANYUID, v1::SCC_PRIVILEGED}) {
    if (SccAdmits(scc, c)) return scc;
  }
  return v1::SCC_PRIVILEGED;
}

bool AnySccAdmits(const google::protobuf::RepeatedField<int>& granted,
                  const ContainerSecurity& c) {
  for (int scc : granted) {
    if (SccAdmits(static_cast<v1::Scc>(scc), c)) return true;
  }
  return false;
}

}  // namespace buildgate
