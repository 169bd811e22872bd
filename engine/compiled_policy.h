// A policy set compiled once into an immutable form that Decide() reads.
//
// Compiling validates the set (org policy, tighten-only overrides, catalog
// overrides), computes each scope's effective policy, and precomputes for
// every builder, destination, architecture and "simple Dockerfile" flag
// whether the builder is admissible, with which run profile and why not.
// Decide() then does table lookups plus the few checks that depend on the
// step itself (caching, dry run, image, registry, credentials).
//
// Thread-safe: a CompiledPolicySet is immutable after Compile(); share it as
// std::shared_ptr<const CompiledPolicySet> across any number of threads.
#ifndef BUILDGATE_ENGINE_COMPILED_POLICY_H_
#define BUILDGATE_ENGINE_COMPILED_POLICY_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "buildgate/v1/catalog.pb.h"
#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/policy.pb.h"
#include "buildgate/v1/step.pb.h"
#include "engine/admission.h"
#include "engine/limits.h"

namespace buildgate {

// Whether one builder can run a step of one shape under one policy.
struct BuilderEvaluation {
  bool admissible = false;
  // Index of the chosen run profile in BuilderSpec.profiles, or -1.
  int profile = -1;
  ContainerSecurity security;
  v1::PodSecurityLevel satisfied_pss = v1::PSS_UNSPECIFIED;
  // The builder's enabling feature flag is off: only a step that enables
  // caching (when the catalog says caching enables it) can still use it.
  bool needs_enabling_flag = false;
  // Why it is not admissible (not counting needs_enabling_flag).
  std::vector<v1::Reason> reasons;
};

// Evaluates `spec` under an effective policy for one step shape. Pure; also
// used to search for remediations under relaxed policies.
BuilderEvaluation EvaluateBuilder(const v1::BuilderSpec& spec, const v1::Policy& policy,
                                  v1::Destination destination, v1::Architecture arch,
                                  bool simple_dockerfile);

// The checks that depend on the step itself rather than on its shape: a
// builder a feature flag switches on, unless the step's caching does; and
// build without push to the step's destination.
struct StepFit {
  bool flag_missing = false;
  bool dry_run_unsupported = false;
  bool ok() const { return !flag_missing && !dry_run_unsupported; }
};
StepFit CheckStepFit(const v1::BuilderSpec& spec, const BuilderEvaluation& ev,
                     const v1::BuildStep& step, v1::Destination destination);

// "amd64" / "arm64".
absl::string_view ArchName(v1::Architecture arch);

// One builder as compiled for one scope. Besides the admission table it
// holds every text and message Decide would otherwise format per call.
struct CompiledBuilder {
  // Sized from the proto, so a new enum value gets its slots.
  static constexpr int kDestinations = v1::Destination_ARRAYSIZE;
  static constexpr int kArchitectures = v1::Architecture_ARRAYSIZE;
  static_assert(v1::Destination_MIN == 0 && v1::Architecture_MIN == 0,
                "the tables index by enum value");
  static constexpr int kTableSize = kDestinations * kArchitectures * 2;
  static int Index(v1::Destination d, v1::Architecture a, bool simple) {
    return (static_cast<int>(d) * kArchitectures + static_cast<int>(a)) * 2 + (simple ? 1 : 0);
  }
  static int ImageIndex(v1::Destination d, v1::Architecture a) {
    return static_cast<int>(d) * kArchitectures + static_cast<int>(a);
  }

  const v1::BuilderSpec* spec = nullptr;
  std::array<BuilderEvaluation, kTableSize> table;
  // table[i].reasons as the message Decide returns for a rejected builder.
  std::array<v1::RejectedBuilder, kTableSize> rejected;
  // Plugin builders: the pinned image for (destination, arch); "" if none.
  std::array<std::string, kDestinations * kArchitectures> pinned_image;
  std::array<std::string, kDestinations * kArchitectures> pinned_image_message;
  std::string pinned_version;
  // Image repository per destination ("" if none).
  std::array<std::string, kDestinations> image_repository;
  // Reason texts.
  std::string chosen_as_requested_message;
  std::string chosen_by_preference_message;
  std::string chosen_for_caching_message;
  std::string request_overridden_message;
  std::string caching_unavailable_message;
  std::string dry_run_configured_message;
  v1::Reason feature_flag_required;
  std::array<v1::Reason, kDestinations> dry_run_unsupported;
  std::vector<std::string> runs_as_message;          // Per run profile.
  std::vector<std::string> privileged_message;       // Per run profile.
};

// A plugin image repository resolved to its builder and destination.
struct PluginImageInfo {
  v1::Builder builder = v1::BUILDER_UNSPECIFIED;
  v1::Destination destination = v1::DESTINATION_UNSPECIFIED;
  // Other destinations served by the same image (GCR image serves GAR).
  std::vector<v1::Destination> also_serves;
};

// A builder catalog (the shipped one, or one with an org's overrides) with
// its plugin image index. Shared by every set that uses the same catalog.
struct CatalogData {
  v1::BuilderCatalog catalog;
  absl::flat_hash_map<std::string, PluginImageInfo> plugin_images;
};

// Everything a scope's decisions need that depends only on its effective
// policy (without the revision label) and the catalog: the heavy part of a
// compiled scope. Interned, so sets that differ only in revision, org id or
// scope names share one copy.
struct ScopeTables {
  std::shared_ptr<const CatalogData> catalog;  // Keeps CompiledBuilder::spec valid.
  v1::Policy policy;                           // Effective; revision cleared.
  // Allowed builders in preference order, then the rest in catalog order.
  std::vector<CompiledBuilder> builders;
  std::size_t approximate_bytes = 0;
};

// One scope of a compiled set: its name and revision, and shared tables.
struct CompiledScope {
  explicit CompiledScope(std::shared_ptr<const ScopeTables> t)
      : tables(std::move(t)), policy(tables->policy), builders(tables->builders) {}
  CompiledScope(const CompiledScope&) = delete;
  CompiledScope& operator=(const CompiledScope&) = delete;

  std::string name;      // "org", "project:X" or "project:X/pipeline:Y".
  std::string revision;  // The effective policy's revision label.
  const std::shared_ptr<const ScopeTables> tables;
  const v1::Policy& policy;                       // tables->policy
  const std::vector<CompiledBuilder>& builders;   // tables->builders
};

class CompiledPolicySet {
 public:
  // Validates and compiles. Errors are kInvalidArgument naming the field.
  static absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> Compile(
      const v1::PolicySet& set);
  // As above with another base catalog (tests).
  static absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> Compile(
      const v1::PolicySet& set, const v1::BuilderCatalog& base_catalog);
  // Parses policy-set text (YAML or JSON, engine/proto_text.h) within
  // `limits` and compiles it: the one way the CLI and the policy store load
  // a policy file. Errors start with `source` ("acme.yaml:7:5: policy.root:
  // ..." or "acme.yaml: overrides[0]...").
  static absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> ParseAndCompile(
      absl::string_view text, absl::string_view source, const InputLimits& limits = InputLimits());

  const std::string& org_id() const { return org_id_; }
  // Hex SHA-256 of the set's deterministic serialization.
  const std::string& fingerprint() const { return fingerprint_; }
  const v1::BuilderCatalog& catalog() const { return catalog_->catalog; }
  const v1::PolicySet& source() const { return source_; }
  // Approximate memory this set holds on its own (shared tables counted
  // once per distinct table, by the first set that built them).
  std::size_t approximate_bytes() const { return approximate_bytes_; }

  // The most specific scope for a step: pipeline, then project, then org.
  const CompiledScope& ScopeFor(absl::string_view project_id, absl::string_view pipeline_id) const;
  const CompiledScope& org_scope() const { return *org_scope_; }
  // All scopes, keyed "" (org), "project" or "project/pipeline".
  const absl::flat_hash_map<std::string, std::unique_ptr<CompiledScope>>& scopes() const {
    return scopes_;
  }

  // Looks up a plugin image repository such as "plugins/buildah-ecr".
  const PluginImageInfo* FindPluginImage(absl::string_view repository) const;

 private:
  CompiledPolicySet() = default;

  std::string org_id_;
  std::string fingerprint_;
  v1::PolicySet source_;
  std::shared_ptr<const CatalogData> catalog_;
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledScope>> scopes_;
  const CompiledScope* org_scope_ = nullptr;
  std::size_t approximate_bytes_ = 0;
};

// How many distinct scope tables are alive (tests and benchmarks).
std::size_t LiveScopeTables();

// Hex SHA-256 of the deterministic serialization of `set`.
std::string PolicySetFingerprint(const v1::PolicySet& set);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_COMPILED_POLICY_H_
