// Internal to the engine: the tables a compiled scope holds. Compiling a
// policy set evaluates every builder of the catalog for every step shape
// (destination x architecture x simple Dockerfile) under the scope's
// effective policy, and formats every text Decide() would otherwise build
// per call, so a decision is table lookups plus the checks that depend on
// the step itself. Read by decide.cc and remediation.cc; built by
// compiled_policy.cc. Not part of the engine's public API (compiled_policy.h).
//
// Thread-safe: everything here is immutable once built and shared as
// std::shared_ptr<const ...> across threads and policy sets, except each
// ScopeTables' shape memo, which is filled as decisions are made and is
// itself thread-safe (shape_memo.h).
#ifndef BUILDGATE_ENGINE_INTERNAL_COMPILED_TABLES_H_
#define BUILDGATE_ENGINE_INTERNAL_COMPILED_TABLES_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/catalog.pb.h"
#include "buildgate/v1/decision.pb.h"
#include "buildgate/v1/policy.pb.h"
#include "engine/internal/builder_evaluation.h"
#include "engine/internal/shape_memo.h"

namespace buildgate {

// One builder as compiled for one scope. Besides the admission table it
// holds every text and message Decide would otherwise format per call.
struct CompiledBuilder {
  // Sized from the proto, so a new enum value gets its slots.
  static constexpr int kDestinations = v1::Destination_ARRAYSIZE;
  static constexpr int kArchitectures = v1::Arch_ARRAYSIZE;
  static_assert(v1::Destination_MIN == 0 && v1::Arch_MIN == 0,
                "the tables index by enum value");
  static constexpr int kTableSize = kDestinations * kArchitectures * 2;
  static int Index(v1::Destination d, v1::Arch a, bool simple) {
    return (static_cast<int>(d) * kArchitectures + static_cast<int>(a)) * 2 + (simple ? 1 : 0);
  }
  static int ImageIndex(v1::Destination d, v1::Arch a) {
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
  std::vector<std::string> runs_as_message;     // Per run profile.
  std::vector<std::string> privileged_message;  // Per run profile.
};

// A catalog image repository resolved to its builder and destination: what
// a Plugin step running it asks for.
struct PluginImageInfo {
  v1::Builder builder = v1::BUILDER_UNSPECIFIED;
  v1::Destination destination = v1::DESTINATION_UNSPECIFIED;
  // Other destinations served by the same image (GCR image serves GAR).
  std::vector<v1::Destination> also_serves;
};

// Where a step runs, as the catalog describes it: its infrastructure's entry
// and what Harness runs on the step's operating system there (nullptr when
// the catalog holds no facts for that OS).
struct Placement {
  v1::InfrastructureType type = v1::INFRASTRUCTURE_TYPE_KUBERNETES;  // Never UNSPECIFIED.
  v1::OperatingSystem os = v1::OPERATING_SYSTEM_LINUX;              // Never UNSPECIFIED.
  const v1::InfrastructureSpec* infrastructure = nullptr;           // Never nullptr.
  const v1::OsSupport* support = nullptr;
};

// A builder catalog (the shipped one, or one with an org's overrides) with
// its plugin image index. Shared by every set that uses the same catalog.
struct CatalogData {
  CatalogData() = default;
  CatalogData(const CatalogData&) = delete;  // `placements` points into `catalog`.
  CatalogData& operator=(const CatalogData&) = delete;

  // Where `infrastructure` (a step's) places it; UNSPECIFIED type and OS
  // are Kubernetes and Linux. The step was validated: both enums are known.
  const Placement& PlacementOf(const v1::Infrastructure& infrastructure) const {
    return placements[infrastructure.type()][infrastructure.os()];
  }

  v1::BuilderCatalog catalog;
  // Every image of every builder, Plugin and Build and Push builders alike:
  // the images a Plugin step may run that build an image.
  absl::flat_hash_map<std::string, PluginImageInfo> plugin_images;
  // By infrastructure type, then operating system (UNSPECIFIED included).
  std::array<std::array<Placement, v1::OperatingSystem_ARRAYSIZE>, v1::InfrastructureType_ARRAYSIZE>
      placements;
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
  // Compile-time size plus ShapeMemo::kMaxBytes, the most the memo below
  // can grow to with use: the bytes a cache budget must hold for them.
  std::size_t approximate_bytes = 0;
  // The builder choice, rejected builders and remediations per step shape,
  // filled by Decide() (shared by every set that shares these tables).
  ShapeMemo memo;
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
  const v1::Policy& policy;                      // tables->policy
  const std::vector<CompiledBuilder>& builders;  // tables->builders
};

// The catalog with its plugin image index (`catalog` is the shipped one or
// one with an org's overrides).
std::shared_ptr<const CatalogData> MakeCatalogData(v1::BuilderCatalog catalog);

// The tables for an effective policy under a catalog (the slow part of a
// compile: every builder for every step shape).
std::shared_ptr<const ScopeTables> BuildScopeTables(const v1::Policy& policy,
                                                    std::shared_ptr<const CatalogData> catalog);

// What the compiled tables hold without their memo (approximate: the
// policy and every builder's precomputed reasons).
std::size_t CompiledTablesBytes(const ScopeTables& tables);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_INTERNAL_COMPILED_TABLES_H_
