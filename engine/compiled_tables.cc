#include "engine/internal/compiled_tables.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "catalog/catalog.h"
#include "engine/enum_names.h"
#include "engine/policy.h"

namespace buildgate {
std::shared_ptr<const CatalogData> MakeCatalogData(v1::BuilderCatalog catalog) {
  auto data = std::make_shared<CatalogData>();
  data->catalog = std::move(catalog);
  // Every builder's images: a Plugin step can run a Build and Push
  // builder's image too (plugins/kaniko, plugins/buildx-ecr), and is then a
  // request for that builder.
  for (const auto& spec : data->catalog.builders()) {
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
  // The catalog was validated: it describes every infrastructure type.
  for (int type = 0; type < v1::InfrastructureType_ARRAYSIZE; ++type) {
    for (int os = 0; os < v1::OperatingSystem_ARRAYSIZE; ++os) {
      Placement& where = data->placements[type][os];
      if (type != v1::INFRASTRUCTURE_TYPE_UNSPECIFIED) {
        where.type = static_cast<v1::InfrastructureType>(type);
      }
      if (os != v1::OPERATING_SYSTEM_UNSPECIFIED) where.os = static_cast<v1::OperatingSystem>(os);
      where.infrastructure = FindInfrastructure(data->catalog, where.type);
      if (where.infrastructure != nullptr) {
        where.support = FindOsSupport(*where.infrastructure, where.os);
      }
    }
  }
  return data;
}

std::shared_ptr<const ScopeTables> BuildScopeTables(
    const v1::Policy& policy, std::shared_ptr<const CatalogData> catalog_data) {
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
    if (!AllowsBuilder(p, spec.builder())) order.push_back(&spec);
  }
  for (const v1::BuilderSpec* spec : order) {
    CompiledBuilder cb;
    cb.spec = spec;
    for (int d = 1; d < CompiledBuilder::kDestinations; ++d) {
      for (int a = 1; a < CompiledBuilder::kArchitectures; ++a) {
        for (bool simple : {false, true}) {
          const auto dest = static_cast<v1::Destination>(d);
          const auto arch = static_cast<v1::Arch>(a);
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
              spec->tag_template(), {{"{version}", cb.pinned_version},
                                     {"{arch}", ArchName(static_cast<v1::Arch>(a))}});
          const int i =
              CompiledBuilder::ImageIndex(image.destination(), static_cast<v1::Arch>(a));
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
    cb.caching_unavailable_message =
        absl::StrCat("no admissible builder provides layer caching; ", name, " builds without it");
    const v1::Knob& knob = spec->dry_run().knob();
    cb.dry_run_configured_message = absl::StrCat("build without push: ", knob.name(), "=",
                                                 knob.value(), " (", EnumName(knob.scope()), ")");
    cb.feature_flag_required =
        MakeReason(v1::FEATURE_FLAG_REQUIRED, spec->builder(),
                   absl::StrCat(name, " on Kubernetes needs the feature flag ",
                                absl::StrJoin(spec->enabling_feature_flags(), " or "),
                                spec->enabled_by_caching() ? " (or caching on the step)" : ""));
    for (int d = 0; d < CompiledBuilder::kDestinations; ++d) {
      cb.dry_run_unsupported[d] =
          MakeReason(v1::DRY_RUN_UNSUPPORTED, spec->builder(),
                     absl::StrCat(name, " cannot build without pushing to ",
                                  EnumName(static_cast<v1::Destination>(d))));
    }
    for (const v1::RunProfile& profile : spec->profiles()) {
      if (profile.run_as_root()) {
        cb.runs_as_message.push_back(
            absl::StrCat(name, " runs as root; Run as User 0 on this step only",
                         p.root() == v1::ROOT_BUILD_STEP_ONLY
                             ? " (the policy allows root for the build step only)"
                             : ""));
      } else {
        cb.runs_as_message.push_back(absl::StrCat(
            name, " runs as UID ", profile.has_uid() ? profile.uid() : p.non_root_uid()));
      }
      // What the profile needs, for people; where the fact comes from
      // (profile.source()) stays in the catalog and the docs.
      std::string privilege = absl::StrCat(
          name, " (", profile.name(), ") runs ", profile.privileged() ? "privileged" : "unprivileged");
      if (!profile.privileged() && !profile.capabilities().empty()) {
        absl::StrAppend(&privilege, ", keeping the capabilities ",
                        absl::StrJoin(profile.capabilities(), ", "));
      }
      cb.privileged_message.push_back(std::move(privilege));
    }
    scope->builders.push_back(std::move(cb));
  }
  // The memo's room is reserved up front, so a cache sized in bytes bounds
  // the memos its sets fill as decisions are made too.
  scope->approximate_bytes = CompiledTablesBytes(*scope) + ShapeMemo::kMaxBytes;
  return scope;
}

std::size_t CompiledTablesBytes(const ScopeTables& tables) {
  std::size_t bytes = sizeof(ScopeTables) + tables.policy.SpaceUsedLong();
  for (const CompiledBuilder& cb : tables.builders) {
    bytes += sizeof(CompiledBuilder);
    for (int i = 0; i < CompiledBuilder::kTableSize; ++i) {
      bytes += cb.rejected[i].SpaceUsedLong();
      for (const v1::Reason& r : cb.table[i].reasons) bytes += r.SpaceUsedLong();
    }
  }
  return bytes;
}

}  // namespace buildgate
