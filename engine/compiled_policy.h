// A policy set compiled once into an immutable form that Decide() reads:
// the engine's public handle on a policy. Compiling validates the set (org
// policy, tighten-only overrides, catalog overrides), computes each scope's
// effective policy, and builds (or reuses, when another set has the same
// effective policy) the scope's decision tables (compiled_tables.h, internal).
//
// What a set owns besides its policy: each scope's decision tables hold a
// memo of the decisions Decide() has worked out per step shape (builder
// choice, rejected builders, remediations; engine/internal/shape_memo.h).
// It is filled by Decide(), bounded (ShapeMemo::kMaxBytes per table, counted
// in approximate_bytes()), and lives and dies with the tables; sets with the
// same effective policy share tables, and so share the memo.
//
// Thread-safe: a CompiledPolicySet's policy is immutable after Compile() and
// its memos are lock-free and publish-once; share it as
// std::shared_ptr<const CompiledPolicySet> across any number of threads.
// Compile() may run on several threads at once.
#ifndef BUILDGATE_ENGINE_COMPILED_POLICY_H_
#define BUILDGATE_ENGINE_COMPILED_POLICY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/catalog.pb.h"
#include "buildgate/v1/policy.pb.h"
#include "input/limits.h"

namespace buildgate {

struct CatalogData;
struct CompiledScope;

class CompiledPolicySet {
 public:
  // Validates and compiles. Errors are kInvalidArgument naming the field.
  static absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> Compile(const v1::PolicySet& set);
  // As above with another base catalog (tests).
  static absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> Compile(
      const v1::PolicySet& set, const v1::BuilderCatalog& base_catalog);
  // Compile() for a caller that has computed PolicySetFingerprint(set)
  // already, to look the set up (the compiled-set cache): the fingerprint is
  // not computed twice. `fingerprint` must be PolicySetFingerprint(set).
  static absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> CompileFingerprinted(
      const v1::PolicySet& set, std::string fingerprint);
  // Parses policy-set text (YAML or JSON, input/proto_text.h) within
  // `limits` and compiles it: the one way the CLI and the policy store load
  // a policy file. Errors start with `source` ("acme.yaml:7:5: policy.root:
  // ..." or "acme.yaml: overrides[0]...").
  static absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> ParseAndCompile(
      absl::string_view text, absl::string_view source, const InputLimits& limits = InputLimits());

  const std::string& org_id() const { return org_id_; }
  // Hex SHA-256 of the set's deterministic serialization.
  const std::string& fingerprint() const { return fingerprint_; }
  const v1::BuilderCatalog& catalog() const;
  const v1::PolicySet& source() const { return source_; }
  // Approximate memory this set holds on its own (shared tables counted
  // once per distinct table, by the first set that built them).
  std::size_t approximate_bytes() const { return approximate_bytes_; }

  // The org policy's revision label.
  const std::string& revision() const;
  // Scope names ("org", "project:X", "project:X/pipeline:Y"), sorted.
  std::vector<std::string> ScopeNames() const;
  // The effective policy a step in (project_id, pipeline_id) is decided
  // under: the pipeline's override, else the project's, else the org's.
  const v1::Policy& EffectivePolicy(absl::string_view project_id,
                                    absl::string_view pipeline_id) const;

  // Internal (decide.cc, remediation.cc): the most specific scope for a step.
  const CompiledScope& ScopeFor(absl::string_view project_id, absl::string_view pipeline_id) const;
  const CompiledScope& org_scope() const { return *org_scope_; }
  const CatalogData& catalog_data() const { return *catalog_; }

  ~CompiledPolicySet();

 private:
  CompiledPolicySet() = default;
  static absl::StatusOr<std::shared_ptr<const CompiledPolicySet>> Build(
      const v1::PolicySet& set, const v1::BuilderCatalog& base_catalog, std::string fingerprint);

  std::string org_id_;
  std::string fingerprint_;
  v1::PolicySet source_;
  std::shared_ptr<const CatalogData> catalog_;
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledScope>> scopes_;
  const CompiledScope* org_scope_ = nullptr;
  std::size_t approximate_bytes_ = 0;
};

// How many distinct scope tables are alive, across all sets (tests and
// benchmarks).
std::size_t LiveScopeTables();

// Hex SHA-256 of the deterministic serialization of `set`.
std::string PolicySetFingerprint(const v1::PolicySet& set);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_COMPILED_POLICY_H_
