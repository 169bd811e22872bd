#include "engine/compiled_policy.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
// EVP's first use loads and initialises OpenSSL's provider machinery, which
// touched ~2 MB more of libcrypto in every buildgated process (idle RSS 22.9
// -> 20.8 MB without it); the low-level functions compute the same digest
// directly (tests/engine/compiled_policy_test.cc holds them to EVP's).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "catalog/catalog.h"
#include "engine/internal/compiled_tables.h"
#include "engine/internal/intern_pool.h"
#include "engine/policy.h"
#include "input/proto_text.h"
#include "engine/step_validation.h"

namespace buildgate {

std::string PolicySetFingerprint(const v1::PolicySet& set) {
  const std::string bytes = DeterministicSerialization(set);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, bytes.data(), bytes.size());
  SHA256_Final(digest, &context);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
}

namespace {

// The process-wide pools every compile shares: merged catalogs by content,
// scope tables by (effective policy, catalog).
struct CompilePools {
  InternPool<CatalogData> catalogs;
  InternPool<ScopeTables> tables;
};

CompilePools& Pools() {
  static auto* pools = new CompilePools();  // Never destroyed: sets may outlive main().
  return *pools;
}

// The shared tables for an effective policy under a catalog; `built` says
// whether this call built them (their bytes are counted once, by that set).
InternPool<ScopeTables>::Result InternTables(const v1::Policy& policy,
                                             const std::shared_ptr<const CatalogData>& catalog) {
  v1::Policy key_policy = policy;
  key_policy.clear_revision();
  std::string key = DeterministicSerialization(key_policy);
  const CatalogData* identity = catalog.get();  // Catalogs are interned: pointer = content.
  key.append(reinterpret_cast<const char*>(&identity), sizeof(identity));
  return Pools().tables.GetOrBuild(key, [&] { return BuildScopeTables(policy, catalog); });
}

std::unique_ptr<CompiledScope> MakeScope(std::string name, const v1::Policy& policy,
                                         const std::shared_ptr<const CatalogData>& catalog,
                                         std::size_t* own_bytes) {
  InternPool<ScopeTables>::Result tables = InternTables(policy, catalog);
  const bool built = tables.built;
  auto scope = std::make_unique<CompiledScope>(std::move(tables.value));
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
  if (absl::Status parsed = ParseYamlToMessage(text, source, &set, limits); !parsed.ok())
    return parsed;
  auto compiled = Compile(set);
  if (!compiled.ok()) {
    absl::Status status = compiled.status();
    if (status.code() != absl::StatusCode::kInvalidArgument) {
      status = SetInputLocation(absl::InvalidArgumentError(status.message()), GetInputLocation(status));
    }
    return WithFile(status, source);
  }
  return compiled;
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompiledPolicySet::Compile(
    const v1::PolicySet& set) {
  return Compile(set, DefaultCatalog());
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompiledPolicySet::Compile(
    const v1::PolicySet& set, const v1::BuilderCatalog& base_catalog) {
  return Build(set, base_catalog, PolicySetFingerprint(set));
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompiledPolicySet::CompileFingerprinted(
    const v1::PolicySet& set, std::string fingerprint) {
  return Build(set, DefaultCatalog(), std::move(fingerprint));
}

absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompiledPolicySet::Build(
    const v1::PolicySet& set, const v1::BuilderCatalog& base_catalog, std::string fingerprint) {
  std::shared_ptr<CompiledPolicySet> compiled(new CompiledPolicySet());
  if (set.org_id().empty()) return InvalidField("org_id", "required");
  BG_RETURN_IF_ERROR(CheckIdentifier("org_id", set.org_id()));
  if (!set.has_policy()) return InvalidField("policy", "required");
  compiled->org_id_ = set.org_id();
  compiled->source_ = set;
  compiled->fingerprint_ = std::move(fingerprint);

  if (set.policy().catalog_overrides().empty() && &base_catalog == &DefaultCatalog()) {
    static const auto* shipped =
        new std::shared_ptr<const CatalogData>(MakeCatalogData(DefaultCatalog()));
    compiled->catalog_ = *shipped;
  } else {
    BG_ASSIGN_OR_RETURN(const v1::BuilderCatalog catalog,
                        ApplyCatalogOverrides(base_catalog, set.policy().catalog_overrides()));
    compiled->catalog_ = Pools()
                             .catalogs
                             .GetOrBuild(DeterministicSerialization(catalog),
                                         [&] { return MakeCatalogData(catalog); })
                             .value;
  }

  BG_ASSIGN_OR_RETURN(const v1::Policy org, EffectiveOrgPolicy(set.policy(), "policy"));
  std::size_t bytes = sizeof(CompiledPolicySet) + compiled->source_.SpaceUsedLong() +
                      compiled->fingerprint_.capacity();
  compiled->scopes_[""] = MakeScope("org", org, compiled->catalog_, &bytes);
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
      return InvalidField(absl::StrCat(at, ".project_id"), "required");
    }
    if (o.project_id().find('/') != std::string::npos ||
        o.pipeline_id().find('/') != std::string::npos) {
      return InvalidField(at, "ids cannot contain '/'");
    }
    BG_RETURN_IF_ERROR(CheckIdentifier(absl::StrCat(at, ".project_id"), o.project_id()));
    if (!o.pipeline_id().empty()) {
      BG_RETURN_IF_ERROR(CheckIdentifier(absl::StrCat(at, ".pipeline_id"), o.pipeline_id()));
    }
    const std::string key = o.pipeline_id().empty()
                                ? o.project_id()
                                : absl::StrCat(o.project_id(), "/", o.pipeline_id());
    if (compiled->scopes_.contains(key)) {
      return InvalidField(at, "a second override for the same scope");
    }
    auto parent_it =
        o.pipeline_id().empty() ? effective_by_key.end() : effective_by_key.find(o.project_id());
    const v1::Policy& parent = parent_it != effective_by_key.end() ? parent_it->second : org;
    BG_ASSIGN_OR_RETURN(v1::Policy effective,
                        ApplyOverride(parent, o.policy(), absl::StrCat(at, ".policy")));
    const std::string name = o.pipeline_id().empty() ? absl::StrCat("project:", o.project_id())
                                                     : absl::StrCat("project:", o.project_id(),
                                                                    "/pipeline:", o.pipeline_id());
    compiled->scopes_[key] = MakeScope(name, effective, compiled->catalog_, &bytes);
    bytes += key.size();
    effective_by_key[key] = std::move(effective);
  }
  compiled->approximate_bytes_ = bytes;
  return std::shared_ptr<const CompiledPolicySet>(std::move(compiled));
}

std::size_t LiveScopeTables() { return Pools().tables.Live(); }

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
        auto it = scopes_.find(absl::string_view(key, project_id.size() + 1 + pipeline_id.size()));
        if (it != scopes_.end()) return *it->second;
      }
    }
    auto it = scopes_.find(project_id);
    if (it != scopes_.end()) return *it->second;
  }
  return *org_scope_;
}

CompiledPolicySet::~CompiledPolicySet() = default;

const v1::BuilderCatalog& CompiledPolicySet::catalog() const { return catalog_->catalog; }

const std::string& CompiledPolicySet::revision() const { return org_scope_->revision; }

std::vector<std::string> CompiledPolicySet::ScopeNames() const {
  std::vector<std::string> names;
  names.reserve(scopes_.size());
  for (const auto& [key, scope] : scopes_) names.push_back(scope->name);
  std::sort(names.begin(), names.end());
  return names;
}

const v1::Policy& CompiledPolicySet::EffectivePolicy(absl::string_view project_id,
                                                     absl::string_view pipeline_id) const {
  return ScopeFor(project_id, pipeline_id).policy;
}

}  // namespace buildgate
