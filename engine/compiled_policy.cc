#include "engine/compiled_policy.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "engine/catalog.h"
#include "engine/policy.h"
#include "engine/proto_text.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace buildgate {
namespace {

v1::Reason MakeReason(v1::ReasonCode code, v1::Builder builder, std::string message) {
  v1::Reason r;
  r.set_code(code);
  r.set_builder(builder);
  r.set_message(std::move(message));
  return r;
}

std::string SccName(int scc) { return v1::OpenShiftScc_Name(static_cast<v1::OpenShiftScc>(scc)); }

std::string PssName(v1::PodSecurityLevel l) { return v1::PodSecurityLevel_Name(l); }

bool Contains(const google::protobuf::RepeatedField<int>& list, int value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Why one run profile cannot be used; empty when it can.
std::vector<v1::Reason> ProfileProblems(const v1::BuilderSpec& spec, const v1::RunProfile& profile,
                                        const v1::Policy& policy, const ContainerSecurity& sec,
                                        v1::PodSecurityLevel satisfied) {
  std::vector<v1::Reason> out;
  const v1::Builder b = spec.builder();
  const std::string who = absl::StrCat(spec.display_name(), " (", profile.name(), ")");
  if (profile.run_as_root() && policy.root() == v1::ROOT_FORBIDDEN) {
    out.push_back(MakeReason(v1::ROOT_NOT_ALLOWED, b,
                             absl::StrCat(who, " runs as root (UID 0); the policy forbids root")));
  }
  if (!profile.run_as_root() &&
      (sec.uid < policy.allowed_uids().min() || sec.uid > policy.allowed_uids().max())) {
    out.push_back(MakeReason(
        v1::UID_OUT_OF_RANGE, b,
        absl::StrCat(who, " runs as UID ", sec.uid, ", outside allowed_uids [",
                     policy.allowed_uids().min(), ", ", policy.allowed_uids().max(), "]")));
  }
  if (profile.privileged() && policy.privileged() == v1::PRIVILEGED_FORBIDDEN) {
    out.push_back(MakeReason(v1::PRIVILEGED_NOT_ALLOWED, b,
                             absl::StrCat(who, " needs privileged: true; the policy forbids privileged")));
  }
  if (policy.platform() == v1::PLATFORM_OPENSHIFT && !AnySccAdmits(policy.openshift_sccs(), sec)) {
    out.push_back(MakeReason(
        v1::SCC_NOT_GRANTED, b,
        absl::StrCat(who, " needs the ", SccName(LeastSccAdmitting(sec)),
                     " SCC (or a more permissive one); granted: ",
                     policy.openshift_sccs().empty()
                         ? std::string("none (restricted-v2 only)")
                         : absl::StrJoin(policy.openshift_sccs(), ", ",
                                         [](std::string* o, int s) { o->append(SccName(s)); }))));
  }
  if (!PodSecurityAdmits(policy.pod_security(), satisfied)) {
    out.push_back(MakeReason(v1::POD_SECURITY_VIOLATION, b,
                             absl::StrCat(who, " needs Pod Security ", PssName(satisfied),
                                          "; the namespace enforces ",
                                          PssName(policy.pod_security()))));
  }
  return out;
}

}  // namespace

absl::string_view ArchName(v1::Architecture arch) {
  return arch == v1::ARCH_ARM64 ? "arm64" : "amd64";
}

BuilderEvaluation EvaluateBuilder(const v1::BuilderSpec& spec, const v1::Policy& policy,
                                  v1::Destination destination, v1::Architecture arch,
                                  bool simple_dockerfile) {
  BuilderEvaluation ev;
  const v1::Builder b = spec.builder();
  if (arch == v1::ARCH_UNSPECIFIED) arch = v1::ARCH_AMD64;
  if (!Contains(policy.allowed_builders(), b)) {
    ev.reasons.push_back(MakeReason(v1::BUILDER_NOT_ALLOWED, b,
                                    absl::StrCat(spec.display_name(),
                                                 " is not in the policy's allowed_builders")));
  }
  const v1::DestinationImage* image = nullptr;
  for (const auto& i : spec.images()) {
    if (i.destination() == destination) image = &i;
  }
  if (image == nullptr) {
    ev.reasons.push_back(MakeReason(
        v1::DESTINATION_UNSUPPORTED, b,
        absl::StrCat(spec.display_name(), " has no image for ", v1::Destination_Name(destination))));
  } else if (!Contains(image->architectures(), arch)) {
    ev.reasons.push_back(MakeReason(
        v1::ARCHITECTURE_UNSUPPORTED, b,
        absl::StrCat(image->repository(), " is not published for ", ArchName(arch))));
  }
  if (!spec.enabling_feature_flags().empty()) {
    ev.needs_enabling_flag = std::none_of(
        spec.enabling_feature_flags().begin(), spec.enabling_feature_flags().end(),
        [&](const std::string& f) { return FeatureFlagOn(policy, f); });
  }
  for (const auto& f : spec.displacing_feature_flags()) {
    if (FeatureFlagOn(policy, f)) {
      ev.reasons.push_back(MakeReason(
          v1::DISPLACED_BY_FEATURE_FLAG, b,
          absl::StrCat("with ", f, " on, Harness runs Build and Push steps with another builder "
                       "instead of ", spec.display_name())));
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
    sec.uid = profile.run_as_root() ? 0 : (profile.has_uid() ? profile.uid() : policy.non_root_uid());
    sec.privileged = profile.privileged();
    sec.allow_privilege_escalation = profile.allow_privilege_escalation();
    sec.capabilities.assign(profile.capabilities().begin(), profile.capabilities().end());
    const v1::PodSecurityLevel satisfied = SatisfiedPodSecurityLevel(sec);
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
                             v1::Platform_Name(policy.platform()))));
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

std::string PolicySetFingerprint(const v1::PolicySet& set) {
  const std::string bytes = DeterministicSerialization(set);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), len));
}

namespace {

// A process-wide pool of shared immutable values keyed by content, so equal
// compiled parts exist once. Values die with their last user; expired keys
// are swept as the pool grows. Thread-safe (compile path only).
template <typename T>
class InternPool {
 public:
  template <typename Build>
  std::shared_ptr<const T> GetOrBuild(const std::string& key, Build&& build) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      if (auto alive = it->second.lock()) return alive;
    }
    std::shared_ptr<const T> value = build();
    map_[key] = value;
    if (++inserts_ % 1024 == 0) {
      absl::erase_if(map_, [](const auto& kv) { return kv.second.expired(); });
    }
    return value;
  }
  std::size_t Live() {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const auto& kv : map_) n += kv.second.expired() ? 0 : 1;
    return n;
  }

 private:
  // std::mutex, not absl::Mutex: ThreadSanitizer must see it (Debian's
  // Abseil is not built for it).
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::weak_ptr<const T>> map_;  // Guarded by mu_.
  uint64_t inserts_ = 0;                                            // Guarded by mu_.
};

InternPool<ScopeTables>& TablesPool() {
  static auto* pool = new InternPool<ScopeTables>();
  return *pool;
}

InternPool<CatalogData>& CatalogPool() {
  static auto* pool = new InternPool<CatalogData>();
  return *pool;
}

std::shared_ptr<const CatalogData> MakeCatalogData(v1::BuilderCatalog catalog) {
  auto data = std::make_shared<CatalogData>();
  data->catalog = std::move(catalog);
  for (const auto& spec : data->catalog.builders()) {
    if (spec.step_type() != v1::STEP_TYPE_PLUGIN) continue;
    for (const auto& image : spec.images()) {
      auto [it, inserted] = data->plugin_images.try_emplace(image.repository());
      if (inserted) {
        it->second.builder = spec.builder();
        it->second.destination = image.destination();
      } else {
        it->second.also_serves.push_back(image.destination());
      }
    }
  }
  return data;
}

std::shared_ptr<const ScopeTables> BuildTables(const v1::Policy& policy,
                                               std::shared_ptr<const CatalogData> catalog_data) {
  auto scope = std::make_shared<ScopeTables>();
  scope->catalog = std::move(catalog_data);
  scope->policy = policy;
  scope->policy.clear_revision();
  const v1::BuilderCatalog& catalog = scope->catalog->catalog;
  const v1::Policy& p = scope->policy;
  std::vector<const v1::BuilderSpec*> order;
  for (int b : p.allowed_builders()) {
    if (const v1::BuilderSpec* spec = FindBuilder(catalog, static_cast<v1::Builder>(b))) {
      order.push_back(spec);
    }
  }
  for (const auto& spec : catalog.builders()) {
    if (!Contains(p.allowed_builders(), spec.builder())) order.push_back(&spec);
  }
  for (const v1::BuilderSpec* spec : order) {
    CompiledBuilder cb;
    cb.spec = spec;
    for (int d = 1; d < CompiledBuilder::kDestinations; ++d) {
      for (int a = 1; a < CompiledBuilder::kArchitectures; ++a) {
        for (bool simple : {false, true}) {
          const auto dest = static_cast<v1::Destination>(d);
          const auto arch = static_cast<v1::Architecture>(a);
          cb.table[CompiledBuilder::Index(dest, arch, simple)] =
              EvaluateBuilder(*spec, p, dest, arch, simple);
        }
      }
    }
    for (int i = 0; i < CompiledBuilder::kTableSize; ++i) {
      cb.rejected[i].set_builder(spec->builder());
      for (const v1::Reason& r : cb.table[i].reasons) *cb.rejected[i].add_reasons() = r;
    }
    const std::string& name = spec->display_name();
    for (const auto& image : spec->images()) {
      cb.image_repository[image.destination()] = image.repository();
    }
    if (spec->step_type() == v1::STEP_TYPE_PLUGIN) {
      // Pin the catalog default unless the policy restricts versions.
      const auto& allowed = p.plugin_images().allowed_versions();
      cb.pinned_version = spec->default_version();
      if (!allowed.empty() &&
          std::find(allowed.begin(), allowed.end(), cb.pinned_version) == allowed.end()) {
        cb.pinned_version = allowed[0];
      }
      for (const auto& image : spec->images()) {
        for (int a : image.architectures()) {
          const std::string tag = absl::StrReplaceAll(
              spec->tag_template(),
              {{"{version}", cb.pinned_version},
               {"{arch}", ArchName(static_cast<v1::Architecture>(a))}});
          const int i = CompiledBuilder::ImageIndex(image.destination(), static_cast<v1::Architecture>(a));
          cb.pinned_image[i] = absl::StrCat(image.repository(), ":", tag);
          cb.pinned_image_message[i] = absl::StrCat("image pinned to ", cb.pinned_image[i]);
        }
      }
    }
    cb.chosen_as_requested_message = absl::StrCat(name, " as proposed is admissible");
    cb.chosen_by_preference_message =
        absl::StrCat(name, " is the first admissible builder in the policy's order");
    cb.chosen_for_caching_message =
        absl::StrCat(name, " is the first admissible builder with caching");
    cb.request_overridden_message =
        absl::StrCat(name, " as proposed is not admissible (see rejected_builders)");
    cb.caching_unavailable_message = absl::StrCat(
        "no admissible builder provides layer caching; ", name, " builds without it");
    const v1::Knob& knob = spec->dry_run().knob();
    cb.dry_run_configured_message =
        absl::StrCat("build without push: ", knob.name(), "=", knob.value(), " (",
                     v1::EnvScope_Name(knob.scope()), ")");
    cb.feature_flag_required = MakeReason(
        v1::FEATURE_FLAG_REQUIRED, spec->builder(),
        absl::StrCat(name, " on Kubernetes needs the feature flag ",
                     absl::StrJoin(spec->enabling_feature_flags(), " or "),
                     spec->enabled_by_caching() ? " (or caching on the step)" : ""));
    for (int d = 0; d < CompiledBuilder::kDestinations; ++d) {
      cb.dry_run_unsupported[d] = MakeReason(
          v1::DRY_RUN_UNSUPPORTED, spec->builder(),
          absl::StrCat(name, " cannot build without pushing to ",
                       v1::Destination_Name(static_cast<v1::Destination>(d))));
    }
    for (const v1::RunProfile& profile : spec->profiles()) {
      if (profile.run_as_root()) {
        cb.runs_as_message.push_back(absl::StrCat(
            name, " runs as root; Run as User 0 on this step only",
            p.root() == v1::ROOT_BUILD_STEP_ONLY
                ? " (the policy allows root for the build step only)" : ""));
      } else {
        cb.runs_as_message.push_back(absl::StrCat(
            name, " runs as UID ", profile.has_uid() ? profile.uid() : p.non_root_uid()));
      }
      cb.privileged_message.push_back(absl::StrCat(profile.name(), ": ", profile.source()));
    }
    scope->builders.push_back(std::move(cb));
  }
  std::size_t bytes = sizeof(ScopeTables) + scope->policy.SpaceUsedLong();
  for (const CompiledBuilder& cb : scope->builders) {
    bytes += sizeof(CompiledBuilder);
    for (int i = 0; i < CompiledBuilder::kTableSize; ++i) {
      bytes += cb.rejected[i].SpaceUsedLong();
      for (const v1::Reason& r : cb.table[i].reasons) bytes += r.SpaceUsedLong();
    }
  }
  scope->approximate_bytes = bytes;
  return scope;
}

// The shared tables for an effective policy under a catalog; sets `built`
// when this call created them.
std::shared_ptr<const ScopeTables> InternTables(const v1::Policy& policy,
                                                const std::shared_ptr<const CatalogData>& catalog,
                                                bool* built) {
  v1::Policy key_policy = policy;
  key_policy.clear_revision();
  std::string key = DeterministicSerialization(key_policy);
  const CatalogData* identity = catalog.get();  // Catalogs are interned: pointer = content.
  key.append(reinterpret_cast<const char*>(&identity), sizeof(identity));
  *built = false;
  return TablesPool().GetOrBuild(key, [&] {
    *built = true;
    return BuildTables(policy, catalog);
  });
}

std::unique_ptr<CompiledScope> MakeScope(std::string name, const v1::Policy& policy,
                                         const std::shared_ptr<const CatalogData>& catalog,
                                         std::size_t* own_bytes) {
  bool built = false;
  auto scope = std::make_unique<CompiledScope>(InternTables(policy, catalog, &built));
  scope->name = std::move(name);
  scope->revision = policy.revision();
  *own_bytes += sizeof(CompiledScope) + scope->name.size() + scope->revision.size() +
                (built ? scope->tables->approximate_bytes : 0);
  return scope;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompiledPolicySet::ParseAndCompile(
    absl::string_view text, absl::string_view source, const InputLimits& limits) {
  v1::PolicySet set;
  if (absl::Status parsed = ParseYamlToMessage(text, source, &set, limits); !parsed.ok()) return parsed;
  auto compiled = Compile(set);
  if (!compiled.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", compiled.status().message()));
  }
  return compiled;
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompiledPolicySet::Compile(
    const v1::PolicySet& set) {
  return Compile(set, DefaultCatalog());
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompiledPolicySet::Compile(
    const v1::PolicySet& set, const v1::BuilderCatalog& base_catalog) {
  std::shared_ptr<CompiledPolicySet> compiled(new CompiledPolicySet());
  if (set.org_id().empty()) return absl::InvalidArgumentError("org_id: required");
  if (!set.has_policy()) return absl::InvalidArgumentError("policy: required");
  compiled->org_id_ = set.org_id();
  compiled->source_ = set;
  compiled->fingerprint_ = PolicySetFingerprint(set);

  if (set.policy().catalog_overrides().empty() && &base_catalog == &DefaultCatalog()) {
    static const auto* shipped = new std::shared_ptr<const CatalogData>(MakeCatalogData(DefaultCatalog()));
    compiled->catalog_ = *shipped;
  } else {
    auto catalog = ApplyCatalogOverrides(base_catalog, set.policy().catalog_overrides());
    if (!catalog.ok()) return catalog.status();
    compiled->catalog_ = CatalogPool().GetOrBuild(DeterministicSerialization(*catalog),
                                                  [&] { return MakeCatalogData(*catalog); });
  }

  auto org = EffectiveOrgPolicy(set.policy(), "policy");
  if (!org.ok()) return org.status();
  std::size_t bytes = sizeof(CompiledPolicySet) + compiled->source_.SpaceUsedLong() +
                      compiled->fingerprint_.capacity();
  compiled->scopes_[""] = MakeScope("org", *org, compiled->catalog_, &bytes);
  compiled->org_scope_ = compiled->scopes_[""].get();

  // Projects first, so a pipeline override can build on its project's policy.
  std::vector<int> order(set.overrides_size());
  for (int i = 0; i < set.overrides_size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return set.overrides(a).pipeline_id().empty() > set.overrides(b).pipeline_id().empty();
  });
  // Effective policies with their revisions (the shared tables drop them).
  absl::flat_hash_map<std::string, v1::Policy> effective_by_key;
  for (int i : order) {
    const v1::ScopeOverride& o = set.overrides(i);
    const std::string at = absl::StrCat("overrides[", i, "]");
    if (o.project_id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".project_id: required"));
    }
    if (o.project_id().find('/') != std::string::npos ||
        o.pipeline_id().find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": ids cannot contain '/'"));
    }
    const std::string key =
        o.pipeline_id().empty() ? o.project_id() : absl::StrCat(o.project_id(), "/", o.pipeline_id());
    if (compiled->scopes_.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": a second override for the same scope"));
    }
    auto parent_it = o.pipeline_id().empty() ? effective_by_key.end()
                                             : effective_by_key.find(o.project_id());
    const v1::Policy& parent = parent_it != effective_by_key.end() ? parent_it->second : *org;
    auto effective = ApplyOverride(parent, o.policy(), absl::StrCat(at, ".policy"));
    if (!effective.ok()) return effective.status();
    const std::string name = o.pipeline_id().empty()
                                 ? absl::StrCat("project:", o.project_id())
                                 : absl::StrCat("project:", o.project_id(), "/pipeline:", o.pipeline_id());
    compiled->scopes_[key] = MakeScope(name, *effective, compiled->catalog_, &bytes);
    bytes += key.size();
    effective_by_key[key] = *std::move(effective);
  }
  compiled->approximate_bytes_ = bytes;
  return std::shared_ptr<const CompiledPolicySet>(std::move(compiled));
}

std::size_t LiveScopeTables() { return TablesPool().Live(); }

const CompiledScope& CompiledPolicySet::ScopeFor(absl::string_view project_id,
                                                 absl::string_view pipeline_id) const {
  if (scopes_.size() == 1) return *org_scope_;  // No overrides: nothing to look up.
  if (!project_id.empty()) {
    if (!pipeline_id.empty()) {
      // Ids are validated to at most kMaxFieldLength bytes: build the key on the stack.
      char key[2 * 1024 + 1];
      if (project_id.size() + pipeline_id.size() + 1 <= sizeof(key)) {
        std::memcpy(key, project_id.data(), project_id.size());
        key[project_id.size()] = '/';
        std::memcpy(key + project_id.size() + 1, pipeline_id.data(), pipeline_id.size());
        auto it = scopes_.find(
            absl::string_view(key, project_id.size() + 1 + pipeline_id.size()));
        if (it != scopes_.end()) return *it->second;
      }
    }
    auto it = scopes_.find(project_id);
    if (it != scopes_.end()) return *it->second;
  }
  return *org_scope_;
}

const PluginImageInfo* CompiledPolicySet::FindPluginImage(absl::string_view repository) const {
  auto it = catalog_->plugin_images.find(repository);
  return it == catalog_->plugin_images.end() ? nullptr : &it->second;
}

}  // namespace buildgate
