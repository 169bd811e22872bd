#include "engine/proposal.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "engine/internal/compiled_tables.h"
#include "engine/enum_names.h"
#include "grammar/expression.h"
#include "input/limits.h"
#include "engine/policy.h"
#include "grammar/reference.h"
#include "engine/render.h"
#include "grammar/registry.h"
#include "engine/step_validation.h"

namespace buildgate {
namespace {

// The catalog plugin image a mirrored name stands for: the repository equal
// to `rest`, else the one catalog repository that ends with "/" + rest
// (mirror "registry.example.com/plugins" holding "buildah-docker").
// nullptr when none, or when the short name is ambiguous.
const std::pair<const std::string, PluginImageInfo>* FindMirrored(const CatalogData& catalog,
                                                                  absl::string_view rest) {
  if (auto it = catalog.plugin_images.find(rest); it != catalog.plugin_images.end()) return &*it;
  const std::pair<const std::string, PluginImageInfo>* found = nullptr;
  for (const auto& entry : catalog.plugin_images) {
    const absl::string_view repo = entry.first;
    if (repo.size() > rest.size() && absl::EndsWith(repo, rest) &&
        repo[repo.size() - rest.size() - 1] == '/') {
      if (found != nullptr) return nullptr;  // Ambiguous: two catalog images end this way.
      found = &entry;
    }
  }
  return found;
}

// The catalog entry an image name (without tag or digest; the domain lower
// case) is: a catalog repository, or one pulled from a mirror the policy
// names (`mirror` is set to it). nullptr when neither.
const std::pair<const std::string, PluginImageInfo>* FindPluginImage(
    const CatalogData& catalog, const v1::Policy& policy, absl::string_view name,
    const std::string** mirror) {
  *mirror = nullptr;
  if (auto it = catalog.plugin_images.find(name); it != catalog.plugin_images.end()) return &*it;
  for (const std::string& m : policy.plugin_mirrors()) {
    if (name.size() <= m.size() + 1 || !absl::StartsWith(name, m) || name[m.size()] != '/') {
      continue;
    }
    if (const auto* entry = FindMirrored(catalog, name.substr(m.size() + 1))) {
      *mirror = &m;
      return entry;
    }
  }
  return nullptr;
}

// The name FindPluginImage looks up: Docker Hub images (no domain) as
// written, others with the domain lower-cased (hosts are case-insensitive,
// repositories are lower case by the grammar) into `storage`.
absl::string_view PluginImageName(const ImageReference& ref, std::string* storage) {
  if (ref.domain.empty()) return ref.repository;
  *storage = absl::StrCat(absl::AsciiStrToLower(ref.domain), "/", ref.repository);
  return *storage;
}

// Recognises a Plugin step's image: a catalog repository (Docker Hub's host
// dropped), or one pulled from a mirror the policy names.
absl::Status ResolvePluginImage(const CatalogData& catalog, const v1::Policy& policy,
                                const v1::BuildStep& step, Proposal* p,
                                const PluginImageInfo** info) {
  BG_ASSIGN_OR_RETURN(const ImageReference ref, ParseImageReference(step.image(), "step.image"));
  ProposedImage& image = p->image;
  image.reference = step.image();
  image.tag = ref.tag;
  image.digest = ref.digest;
  image.tag_known = !ref.tag_is_expression;
  image.digest_known = !ref.digest_is_expression;
  std::string with_domain;
  const absl::string_view name = PluginImageName(ref, &with_domain);
  const std::string* mirror = nullptr;
  if (const auto* entry = FindPluginImage(catalog, policy, name, &mirror)) {
    image.catalog_repository = entry->first;
    if (mirror != nullptr) {
      const absl::string_view rest = name.substr(mirror->size() + 1);
      image.mirror_prefix = absl::StrCat(*mirror, "/");
      image.mirrored_prefix =
          std::string(entry->first.substr(0, entry->first.size() - rest.size()));
    }
    *info = &entry->second;
    return absl::OkStatus();
  }
  std::string hint;
  if (!ref.domain.empty()) {
    // Say how to accept a mirror when the name ends like an official image.
    for (const auto& [repo, unused] : catalog.plugin_images) {
      if (absl::EndsWith(name, absl::StrCat("/", repo))) {
        const absl::string_view host_part = name.substr(0, name.size() - repo.size() - 1);
        hint = absl::StrCat("; if ", QuoteInput(host_part),
                            " mirrors the official plugins, add it to ",
                            "the policy's plugin_mirrors");
        break;
      }
    }
  }
  return InvalidField(
      "step.image",
      absl::StrCat(QuoteInput(name),
                   " is not a build plugin in the builder catalog (for example "
                   "plugins/buildah-docker or plugins/docker)",
                   policy.plugin_mirrors().empty()
                       ? ""
                       : absl::StrCat(", nor one under plugin_mirrors (",
                                      absl::StrJoin(policy.plugin_mirrors(), ", "), ")"),
                   hint));
}

// The builder Harness runs for a Build and Push step that names none: one a
// flag or caching switches on, else the one that needs no switch.
v1::Builder ImpliedBuilder(const CatalogData& catalog, const v1::Policy& policy,
                           const v1::BuildStep& step) {
  v1::Builder implied = v1::BUILDER_UNSPECIFIED;
  for (const v1::BuilderSpec& spec : catalog.catalog.builders()) {
    if (spec.step_type() != v1::STEP_TYPE_BUILD_AND_PUSH) continue;
    const bool switched_on =
        std::any_of(spec.enabling_feature_flags().begin(), spec.enabling_feature_flags().end(),
                    [&](const std::string& f) { return FeatureFlagOn(policy, f); }) ||
        (step.caching() && spec.enabled_by_caching());
    if (switched_on) return spec.builder();
    const bool needs_switch = !spec.enabling_feature_flags().empty() || spec.enabled_by_caching();
    if (!needs_switch && implied == v1::BUILDER_UNSPECIFIED) implied = spec.builder();
  }
  return implied;
}

}  // namespace

absl::Status ResolveProposal(const CatalogData& catalog, const v1::Policy& policy,
                             const v1::BuildStep& step, Proposal* p) {
  if (step.kind() == v1::STEP_KIND_PLUGIN) {
    p->is_plugin = true;
    const PluginImageInfo* info = nullptr;
    BG_RETURN_IF_ERROR(ResolvePluginImage(catalog, policy, step, p, &info));
    p->destination = info->destination;
    for (v1::Destination other : info->also_serves) {
      // One image can serve two destinations (buildah-gcr serves GCR and GAR).
      if (other == v1::DESTINATION_GAR &&
          absl::EndsWith(RegistryHost(other, step.registry()), "-docker.pkg.dev")) {
        p->destination = other;
      }
    }
    if (step.requested_builder() != v1::BUILDER_UNSPECIFIED &&
        step.requested_builder() != info->builder) {
      return InvalidField(
          "step.requested_builder",
          absl::StrCat(EnumName(step.requested_builder()), " contradicts step.image ",
                       QuoteInput(p->image.reference), " (", EnumName(info->builder), ")"));
    }
    p->builder = info->builder;
  } else {
    p->destination = DestinationOfKind(step.kind());
    p->builder = step.requested_builder() != v1::BUILDER_UNSPECIFIED
                     ? step.requested_builder()
                     : ImpliedBuilder(catalog, policy, step);
  }

  p->registry_host = RegistryHost(p->destination, step.registry());
  p->registry_host_known = !ContainsHarnessExpression(p->registry_host);
  if (const std::string problem = RegistryShapeProblem(p->destination, p->registry_host);
      !problem.empty()) {
    return InvalidField("step.registry", absl::StrCat(QuoteInput(step.registry()), " does not fit ",
                                                      EnumName(p->destination), ": ", problem));
  }
  if (p->destination == v1::DESTINATION_ECR) {
    if (const std::optional<EcrHostLabels> ecr = ParseEcrHost(p->registry_host)) {
      p->ecr_account = ecr->account;
      p->ecr_region = ecr->region;
    }
  }
  if (p->destination == v1::DESTINATION_GCR || p->destination == v1::DESTINATION_GAR) {
    const absl::string_view repo = step.repo();
    std::string storage;  // Only used when the repo holds an expression.
    const std::size_t slash = MaskExpressionsView(repo, '\0', &storage).find('/');
    p->gcp_project = slash == std::string::npos ? absl::string_view() : repo.substr(0, slash);
    p->gcp_image_name = slash == std::string::npos ? repo : repo.substr(slash + 1);
  }
  PushTarget target = ResolvePushTarget(p->destination, p->registry_host, step.repo());
  p->push_target = std::move(target.target);
  p->push_host_known = target.host_known;
  p->push_path_known = target.path_known;
  const v1::RegistryCredentials& cred = step.credentials();
  p->password_plaintext = IsPlaintextCredential(cred.password());
  p->username_plaintext = IsPlaintextCredential(cred.username());
  return absl::OkStatus();
}

bool IsBuilderPluginImage(const CatalogData& catalog, const v1::Policy& policy,
                          absl::string_view image) {
  const absl::StatusOr<ImageReference> ref = ParseImageReference(image, "image");
  if (!ref.ok()) return false;
  std::string storage;
  const std::string* mirror = nullptr;
  return FindPluginImage(catalog, policy, PluginImageName(*ref, &storage), &mirror) != nullptr;
}

std::string ImageFromProposedSource(const Proposal& p, absl::string_view catalog_image) {
  if (p.image.mirror_prefix.empty() || !absl::StartsWith(catalog_image, p.image.mirrored_prefix)) {
    return std::string(catalog_image);
  }
  return absl::StrCat(p.image.mirror_prefix, catalog_image.substr(p.image.mirrored_prefix.size()));
}

}  // namespace buildgate
