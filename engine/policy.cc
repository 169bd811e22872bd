#include "engine/policy.h"

#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/input_error.h"
#include "common/status.h"
#include "grammar/allowlist.h"
#include "engine/enum_names.h"
#include "input/limits.h"
#include "grammar/reference.h"
#include "grammar/registry.h"

namespace buildgate {
namespace {

// Checks that do not depend on the parent: shapes and internal consistency.
absl::Status ValidateShape(const v1::Policy& p, absl::string_view at) {
  if (!v1::Root_IsValid(p.root()))
    return InvalidField(absl::StrCat(at, ".root"), "unknown value");
  if (!v1::Privileged_IsValid(p.privileged()))
    return InvalidField(absl::StrCat(at, ".privileged"), "unknown value");
  if (!v1::Platform_IsValid(p.platform()))
    return InvalidField(absl::StrCat(at, ".platform"), "unknown value");
  if (!v1::Pss_IsValid(p.pod_security())) {
    return InvalidField(absl::StrCat(at, ".pod_security"), "unknown value");
  }
  if (!v1::Credentials_IsValid(p.credentials()))
    return InvalidField(absl::StrCat(at, ".credentials"), "unknown value");
  std::set<int> sccs;
  for (int i = 0; i < p.openshift_sccs_size(); ++i) {
    const int scc = p.openshift_sccs(i);
    if (scc == v1::SCC_UNSPECIFIED || !v1::Scc_IsValid(scc)) {
      return InvalidField(absl::StrCat(at, ".openshift_sccs[", i, "]"), "unknown SCC");
    }
    if (!sccs.insert(scc).second) {
      return InvalidField(absl::StrCat(at, ".openshift_sccs[", i, "]"), "listed twice");
    }
  }
  std::set<int> builders;
  for (int i = 0; i < p.allowed_builders_size(); ++i) {
    const int b = p.allowed_builders(i);
    if (b == v1::BUILDER_UNSPECIFIED || !v1::Builder_IsValid(b)) {
      return InvalidField(absl::StrCat(at, ".allowed_builders[", i, "]"), "unknown builder");
    }
    if (!builders.insert(b).second) {
      return InvalidField(absl::StrCat(at, ".allowed_builders[", i, "]"), "listed twice");
    }
  }
  std::set<int> infrastructures;
  for (int i = 0; i < p.allowed_infrastructures_size(); ++i) {
    const int type = p.allowed_infrastructures(i);
    const std::string field = absl::StrCat(at, ".allowed_infrastructures[", i, "]");
    if (type == v1::INFRASTRUCTURE_TYPE_UNSPECIFIED || !v1::InfrastructureType_IsValid(type)) {
      return InvalidField(field, "unknown infrastructure type");
    }
    if (!infrastructures.insert(type).second) return InvalidField(field, "listed twice");
  }
  for (int i = 0; i < p.feature_flags_size(); ++i) {
    const std::string& f = p.feature_flags(i);
    const bool ok = !f.empty() && std::all_of(f.begin(), f.end(), [](char c) {
      return absl::ascii_isupper(static_cast<unsigned char>(c)) ||
             absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!ok) {
      return InvalidField(absl::StrCat(at, ".feature_flags[", i, "]"),
                          "a feature flag is UPPER_SNAKE_CASE, e.g. CI_USE_BUILDX_ON_K8");
    }
  }
  if (p.has_allowed_uids()) {
    const auto& r = p.allowed_uids();
    if (r.min() < 1)
      return InvalidField(absl::StrCat(at, ".allowed_uids.min"), "must be >= 1 (UID 0 is root)");
    if (r.max() > kMaxUid)
      return InvalidField(absl::StrCat(at, ".allowed_uids.max"), "must be <= 2147483647");
    if (r.min() > r.max())
      return InvalidField(absl::StrCat(at, ".allowed_uids"), "min is greater than max");
  }
  if (p.has_non_root_uid() && (p.non_root_uid() < 1 || p.non_root_uid() > kMaxUid)) {
    return InvalidField(absl::StrCat(at, ".non_root_uid"),
                        "must be between 1 and 2147483647 (0 is root)");
  }
  for (int i = 0; i < p.plugin_images().allowed_versions_size(); ++i) {
    const std::string& v = p.plugin_images().allowed_versions(i);
    if (v.empty() || absl::StrContains(v, ' ') || absl::StrContains(v, ':')) {
      return InvalidField(absl::StrCat(at, ".plugin_images.allowed_versions[", i, "]"),
                          "a version such as 1.1.0 (no image name, no colon)");
    }
    if (v == "latest" && p.plugin_images().forbid_latest()) {
      return InvalidField(absl::StrCat(at, ".plugin_images.allowed_versions[", i, "]"),
                          "\"latest\" is allowed here but forbidden by forbid_latest");
    }
  }
  for (int i = 0; i < p.registry_allowlist_size(); ++i) {
    const std::string& pat = p.registry_allowlist(i);
    const std::string f = absl::StrCat("registry_allowlist[", i, "]");
    if (pat.empty()) return InvalidField(absl::StrCat(at, ".", f), "empty pattern");
    if (absl::StrContains(pat, "://")) {
      return InvalidField(absl::StrCat(at, ".", f),
                          "a host/repository pattern has no scheme, e.g. docker.io/acme/*");
    }
    if (std::any_of(pat.begin(), pat.end(),
                    [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); })) {
      return InvalidField(absl::StrCat(at, ".", f), "whitespace in pattern");
    }
    if (const std::string problem = AllowlistPatternProblem(pat); !problem.empty()) {
      return InvalidField(absl::StrCat(at, ".", f), problem);
    }
  }
  for (int i = 0; i < p.plugin_mirrors_size(); ++i) {
    const std::string field = absl::StrCat(at, ".plugin_mirrors[", i, "]");
    if (const std::string problem = PluginMirrorProblem(p.plugin_mirrors(i)); !problem.empty()) {
      return WithValue(
          InvalidField(field, absl::StrCat(QuoteInput(p.plugin_mirrors(i)), ": ", problem)),
          p.plugin_mirrors(i));
    }
    for (int j = 0; j < i; ++j) {
      if (p.plugin_mirrors(j) == p.plugin_mirrors(i)) return InvalidField(field, "listed twice");
    }
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<v1::Builder>& DefaultBuilderOrder() {
  static const auto* order = new std::vector<v1::Builder>{
      v1::BUILDER_KANIKO, v1::BUILDER_BUILDAH, v1::BUILDER_BUILDX, v1::BUILDER_DRONE_DOCKER};
  return *order;
}

bool AllowsBuilder(const v1::Policy& policy, v1::Builder builder) {
  const auto& list = policy.allowed_builders();
  return std::find(list.begin(), list.end(), builder) != list.end();
}

bool AllowsInfrastructure(const v1::Policy& policy, v1::InfrastructureType type) {
  if (type == v1::INFRASTRUCTURE_TYPE_UNSPECIFIED) type = v1::INFRASTRUCTURE_TYPE_KUBERNETES;
  const auto& allowed = policy.allowed_infrastructures();
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), type) != allowed.end();
}

bool FeatureFlagOn(const v1::Policy& policy, absl::string_view flag) {
  for (const auto& f : policy.feature_flags()) {
    if (f == flag) return true;
  }
  return false;
}

absl::StatusOr<v1::Policy> EffectiveOrgPolicy(const v1::Policy& org, absl::string_view at) {
  BG_RETURN_IF_ERROR(ValidateShape(org, at));
  if (org.root() == v1::ROOT_UNSPECIFIED) {
    return InvalidField(absl::StrCat(at, ".root"),
                        "required (ROOT_ALLOWED, ROOT_BUILD_STEP_ONLY or ROOT_FORBIDDEN)");
  }
  if (org.privileged() == v1::PRIVILEGED_UNSPECIFIED) {
    return InvalidField(absl::StrCat(at, ".privileged"),
                        "required (PRIVILEGED_ALLOWED or PRIVILEGED_FORBIDDEN)");
  }
  v1::Policy p = org;
  if (p.platform() == v1::PLATFORM_UNSPECIFIED) p.set_platform(v1::PLATFORM_KUBERNETES);
  if (p.platform() != v1::PLATFORM_OPENSHIFT && p.openshift_sccs_size() > 0) {
    return InvalidField(absl::StrCat(at, ".openshift_sccs"),
                        "only meaningful with platform PLATFORM_OPENSHIFT");
  }
  if (p.allowed_builders_size() == 0) {
    for (v1::Builder b : DefaultBuilderOrder()) p.add_allowed_builders(b);
  }
  if (!p.has_allowed_uids()) {
    p.mutable_allowed_uids()->set_min(1);
    p.mutable_allowed_uids()->set_max(kMaxUid);
  }
  if (!p.has_non_root_uid()) p.set_non_root_uid(kDefaultNonRootUid);
  if (!AllowsUid(p, p.non_root_uid())) {
    return InvalidField(absl::StrCat(at, ".non_root_uid"),
                        absl::StrCat(p.non_root_uid(), " is outside allowed_uids [",
                                     p.allowed_uids().min(), ", ", p.allowed_uids().max(), "]"));
  }
  if (p.credentials() == v1::CREDENTIALS_UNSPECIFIED) p.set_credentials(v1::CREDENTIALS_ANY);
  return p;
}

absl::StatusOr<v1::Policy> ApplyOverride(const v1::Policy& parent, const v1::Policy& o,
                                         absl::string_view at) {
  BG_RETURN_IF_ERROR(ValidateShape(o, at));
  auto loosens = [&](absl::string_view field, absl::string_view mine, absl::string_view theirs) {
    return InvalidField(absl::StrCat(at, ".", field),
                        absl::StrCat(mine, " loosens the parent's ", theirs));
  };
  if (o.catalog_overrides_size() > 0) {
    return InvalidField(absl::StrCat(at, ".catalog_overrides"),
                        "builder catalog overrides are org-level only");
  }
  v1::Policy p = parent;
  if (!o.revision().empty()) p.set_revision(o.revision());
  if (o.root() != v1::ROOT_UNSPECIFIED) {
    if (o.root() < parent.root()) {
      return loosens("root", EnumName(o.root()), EnumName(parent.root()));
    }
    p.set_root(o.root());
  }
  if (o.privileged() != v1::PRIVILEGED_UNSPECIFIED) {
    if (o.privileged() < parent.privileged()) {
      return loosens("privileged", EnumName(o.privileged()), EnumName(parent.privileged()));
    }
    p.set_privileged(o.privileged());
  }
  if (o.platform() != v1::PLATFORM_UNSPECIFIED && o.platform() != parent.platform()) {
    return InvalidField(absl::StrCat(at, ".platform"),
                        absl::StrCat("an override cannot change the platform (parent: ",
                                     EnumName(parent.platform()), ")"));
  }
  if (o.openshift_sccs_size() > 0) {
    for (int i = 0; i < o.openshift_sccs_size(); ++i) {
      const auto& granted = parent.openshift_sccs();
      if (std::find(granted.begin(), granted.end(), o.openshift_sccs(i)) == granted.end()) {
        return InvalidField(
            absl::StrCat(at, ".openshift_sccs[", i, "]"),
            absl::StrCat(EnumName(static_cast<v1::Scc>(o.openshift_sccs(i))),
                         " is not granted by the parent"));
      }
    }
    p.mutable_openshift_sccs()->CopyFrom(o.openshift_sccs());
  }
  if (o.pod_security() != v1::PSS_UNSPECIFIED) {
    if (parent.pod_security() != v1::PSS_UNSPECIFIED && o.pod_security() < parent.pod_security()) {
      return loosens("pod_security", EnumName(o.pod_security()), EnumName(parent.pod_security()));
    }
    p.set_pod_security(o.pod_security());
  }
  if (o.allowed_builders_size() > 0) {
    for (int i = 0; i < o.allowed_builders_size(); ++i) {
      const auto& allowed = parent.allowed_builders();
      if (std::find(allowed.begin(), allowed.end(), o.allowed_builders(i)) == allowed.end()) {
        return InvalidField(absl::StrCat(at, ".allowed_builders[", i, "]"),
                            absl::StrCat(EnumName(static_cast<v1::Builder>(o.allowed_builders(i))),
                                         " is not allowed by the parent"));
      }
    }
    p.mutable_allowed_builders()->CopyFrom(o.allowed_builders());
  }
  for (int i = 0; i < o.allowed_infrastructures_size(); ++i) {
    const auto type = static_cast<v1::InfrastructureType>(o.allowed_infrastructures(i));
    if (!AllowsInfrastructure(parent, type)) {
      return InvalidField(absl::StrCat(at, ".allowed_infrastructures[", i, "]"),
                          absl::StrCat(EnumName(type), " is not allowed by the parent"));
    }
  }
  if (o.allowed_infrastructures_size() > 0) {
    p.mutable_allowed_infrastructures()->CopyFrom(o.allowed_infrastructures());
  }
  if (o.feature_flags_size() > 0) {
    for (int i = 0; i < o.feature_flags_size(); ++i) {
      if (!FeatureFlagOn(parent, o.feature_flags(i))) {
        return InvalidField(absl::StrCat(at, ".feature_flags[", i, "]"),
                            absl::StrCat(o.feature_flags(i), " is not on for the parent"));
      }
    }
    p.mutable_feature_flags()->CopyFrom(o.feature_flags());
  }
  if (o.has_allowed_uids()) {
    const auto& r = o.allowed_uids();
    if (r.min() < parent.allowed_uids().min() || r.max() > parent.allowed_uids().max()) {
      return InvalidField(
          absl::StrCat(at, ".allowed_uids"),
          absl::StrCat("[", r.min(), ", ", r.max(), "] is wider than the parent's [",
                       parent.allowed_uids().min(), ", ", parent.allowed_uids().max(), "]"));
    }
    *p.mutable_allowed_uids() = r;
  }
  if (o.has_non_root_uid()) p.set_non_root_uid(o.non_root_uid());
  if (!AllowsUid(p, p.non_root_uid())) {
    return InvalidField(absl::StrCat(at, ".non_root_uid"),
                        absl::StrCat(p.non_root_uid(), " is outside allowed_uids [",
                                     p.allowed_uids().min(), ", ", p.allowed_uids().max(), "]"));
  }
  const auto& oi = o.plugin_images();
  if (oi.allowed_versions_size() > 0) {
    const auto& parent_versions = parent.plugin_images().allowed_versions();
    if (!parent_versions.empty()) {
      for (int i = 0; i < oi.allowed_versions_size(); ++i) {
        if (std::find(parent_versions.begin(), parent_versions.end(), oi.allowed_versions(i)) ==
            parent_versions.end()) {
          return InvalidField(
              absl::StrCat(at, ".plugin_images.allowed_versions[", i, "]"),
              absl::StrCat(oi.allowed_versions(i), " is not allowed by the parent"));
        }
      }
    }
    p.mutable_plugin_images()->mutable_allowed_versions()->CopyFrom(oi.allowed_versions());
  }
  if (oi.forbid_untagged()) p.mutable_plugin_images()->set_forbid_untagged(true);
  if (oi.forbid_latest()) p.mutable_plugin_images()->set_forbid_latest(true);
  if (o.registry_allowlist_size() > 0) {
    for (int i = 0; i < o.registry_allowlist_size(); ++i) {
      const std::string& pat = o.registry_allowlist(i);
      const bool covered =
          parent.registry_allowlist().empty() ||
          std::any_of(
              parent.registry_allowlist().begin(), parent.registry_allowlist().end(),
              [&](const std::string& parent_pat) { return AllowlistCovers(parent_pat, pat); });
      if (!covered) {
        return InvalidField(
            absl::StrCat(at, ".registry_allowlist[", i, "]"),
            absl::StrCat(QuoteInput(pat), " admits registries the parent's allowlist does not"));
      }
    }
    p.mutable_registry_allowlist()->CopyFrom(o.registry_allowlist());
  }
  if (o.plugin_mirrors_size() > 0) {
    // A mirror is a source of trusted plugin images: an override may keep a
    // parent's mirror or name a path under one, never add a registry.
    for (int i = 0; i < o.plugin_mirrors_size(); ++i) {
      const std::string& mine = o.plugin_mirrors(i);
      const bool under_parent =
          std::any_of(parent.plugin_mirrors().begin(), parent.plugin_mirrors().end(),
                      [&](const std::string& theirs) {
                        return mine == theirs || absl::StartsWith(mine, absl::StrCat(theirs, "/"));
                      });
      if (!under_parent) {
        return InvalidField(
            absl::StrCat(at, ".plugin_mirrors[", i, "]"),
            absl::StrCat(QuoteInput(mine), " is not one of the parent's plugin_mirrors (",
                         parent.plugin_mirrors().empty()
                             ? std::string("none")
                             : absl::StrJoin(parent.plugin_mirrors(), ", "),
                         ") nor under one"));
      }
    }
    p.mutable_plugin_mirrors()->CopyFrom(o.plugin_mirrors());
  }
  if (o.credentials() != v1::CREDENTIALS_UNSPECIFIED) {
    if (o.credentials() < parent.credentials()) {
      return loosens("credentials", EnumName(o.credentials()), EnumName(parent.credentials()));
    }
    p.set_credentials(o.credentials());
  }
  return p;
}

}  // namespace buildgate
