#include "catalog/catalog.h"

#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "input/proto_text.h"

namespace buildgate_embedded {
const std::map<std::string, std::string>& EmbeddedFiles();
}  // namespace buildgate_embedded

namespace buildgate {
namespace {

using google::protobuf::FieldDescriptor;

}  // namespace

const v1::BuilderCatalog& DefaultCatalog() {
  static const v1::BuilderCatalog* catalog = [] {
    auto* c = new v1::BuilderCatalog();
    const auto& files = buildgate_embedded::EmbeddedFiles();
    absl::Status status = ParseYamlToMessage(files.at("builders.yaml"), "builders.yaml", c);
    if (status.ok()) status = ValidateCatalog(*c, "catalog");
    if (!status.ok()) {
      // The shipped catalog is tested; a broken build must not serve decisions.
      std::fprintf(stderr, "buildgate: shipped builder catalog is invalid: %s\n",
                   status.ToString().c_str());
      std::abort();
    }
    return c;
  }();
  return *catalog;
}

const v1::BuilderSpec* FindBuilder(const v1::BuilderCatalog& catalog, v1::Builder builder) {
  for (const v1::BuilderSpec& spec : catalog.builders()) {
    if (spec.builder() == builder) return &spec;
  }
  return nullptr;
}

const v1::InfrastructureSpec* FindInfrastructure(const v1::BuilderCatalog& catalog,
                                                 v1::InfrastructureType type) {
  if (type == v1::INFRASTRUCTURE_TYPE_UNSPECIFIED) type = v1::INFRASTRUCTURE_TYPE_KUBERNETES;
  for (const v1::InfrastructureSpec& spec : catalog.infrastructures()) {
    if (spec.type() == type) return &spec;
  }
  return nullptr;
}

const v1::OsSupport* FindOsSupport(const v1::InfrastructureSpec& infrastructure,
                                   v1::OperatingSystem os) {
  if (os == v1::OPERATING_SYSTEM_UNSPECIFIED) os = v1::OPERATING_SYSTEM_LINUX;
  for (const v1::OsSupport& support : infrastructure.operating_systems()) {
    if (support.os() == os) return &support;
  }
  return nullptr;
}

namespace {

// Every infrastructure type once, each with its operating systems once; the
// builders they name are the catalog's.
absl::Status ValidateInfrastructures(const v1::BuilderCatalog& catalog, absl::string_view prefix) {
  std::set<int> types;
  for (int i = 0; i < catalog.infrastructures_size(); ++i) {
    const v1::InfrastructureSpec& infra = catalog.infrastructures(i);
    const std::string at = absl::StrCat(prefix, ".infrastructures[", i, "]");
    if (infra.type() == v1::INFRASTRUCTURE_TYPE_UNSPECIFIED ||
        !v1::InfrastructureType_IsValid(infra.type())) {
      return InvalidField(absl::StrCat(at, ".type"), "required");
    }
    if (!types.insert(infra.type()).second) {
      return InvalidField(absl::StrCat(at, ".type"), "listed twice");
    }
    if (infra.display_name().empty()) {
      return InvalidField(absl::StrCat(at, ".display_name"), "required");
    }
    std::set<int> systems;
    for (int j = 0; j < infra.operating_systems_size(); ++j) {
      const v1::OsSupport& os = infra.operating_systems(j);
      const std::string oat = absl::StrCat(at, ".operating_systems[", j, "]");
      if (os.os() == v1::OPERATING_SYSTEM_UNSPECIFIED || !v1::OperatingSystem_IsValid(os.os())) {
        return InvalidField(absl::StrCat(oat, ".os"), "required");
      }
      if (!systems.insert(os.os()).second) {
        return InvalidField(absl::StrCat(oat, ".os"), "listed twice");
      }
      if (os.architectures_size() == 0) {
        return InvalidField(absl::StrCat(oat, ".architectures"), "at least one architecture");
      }
      for (const auto& [builder, name] :
           {std::pair{os.build_and_push(), "build_and_push"},
            std::pair{os.build_and_push_with_caching(), "build_and_push_with_caching"}}) {
        if (builder != v1::BUILDER_UNSPECIFIED && FindBuilder(catalog, builder) == nullptr) {
          return InvalidField(absl::StrCat(oat, ".", name), "not a builder of the catalog");
        }
      }
      if (os.build_and_push() == v1::BUILDER_UNSPECIFIED &&
          os.build_and_push_with_caching() != v1::BUILDER_UNSPECIFIED) {
        return InvalidField(absl::StrCat(oat, ".build_and_push_with_caching"),
                            "set without build_and_push");
      }
      for (int k = 0; k < os.plugin_builders_size(); ++k) {
        if (FindBuilder(catalog, os.plugin_builders(k)) == nullptr) {
          return InvalidField(absl::StrCat(oat, ".plugin_builders[", k, "]"),
                              "not a builder of the catalog");
        }
      }
      if (os.build_and_push_dry_run().destinations_size() > 0 &&
          os.build_and_push_dry_run().knob().name().empty()) {
        return InvalidField(absl::StrCat(oat, ".build_and_push_dry_run.knob.name"),
                            "required when dry run is supported");
      }
    }
  }
  for (int type = v1::INFRASTRUCTURE_TYPE_UNSPECIFIED + 1; type <= v1::InfrastructureType_MAX;
       ++type) {
    if (v1::InfrastructureType_IsValid(type) && types.count(type) == 0) {
      return InvalidField(absl::StrCat(prefix, ".infrastructures"),
                          absl::StrCat("no entry for ",
                                       v1::InfrastructureType_Name(
                                           static_cast<v1::InfrastructureType>(type))));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCatalog(const v1::BuilderCatalog& catalog, absl::string_view prefix) {
  BG_RETURN_IF_ERROR(ValidateInfrastructures(catalog, prefix));
  for (int i = 0; i < catalog.build_image_words_size(); ++i) {
    const std::string& word = catalog.build_image_words(i);
    if (word.empty() || word != absl::AsciiStrToLower(word)) {
      return InvalidField(absl::StrCat(prefix, ".build_image_words[", i, "]"),
                          "a lower-case word is required");
    }
  }
  std::set<int> seen;
  for (int i = 0; i < catalog.builders_size(); ++i) {
    const v1::BuilderSpec& b = catalog.builders(i);
    const std::string at = absl::StrCat(prefix, ".builders[", i, "]");
    if (b.builder() == v1::BUILDER_UNSPECIFIED || !v1::Builder_IsValid(b.builder())) {
      return InvalidField(absl::StrCat(at, ".builder"), "required");
    }
    if (!seen.insert(b.builder()).second) {
      return InvalidField(absl::StrCat(at, ".builder"), "listed twice");
    }
    if (b.step_type() == v1::STEP_TYPE_UNSPECIFIED) {
      return InvalidField(absl::StrCat(at, ".step_type"), "required");
    }
    if (b.images_size() == 0)
      return InvalidField(absl::StrCat(at, ".images"), "at least one image");
    std::set<int> destinations;
    for (int j = 0; j < b.images_size(); ++j) {
      const auto& image = b.images(j);
      const std::string iat = absl::StrCat(at, ".images[", j, "]");
      if (image.destination() == v1::DESTINATION_UNSPECIFIED) {
        return InvalidField(absl::StrCat(iat, ".destination"), "required");
      }
      if (!destinations.insert(image.destination()).second) {
        return InvalidField(absl::StrCat(iat, ".destination"), "listed twice");
      }
      if (image.repository().empty())
        return InvalidField(absl::StrCat(iat, ".repository"), "required");
      if (image.architectures_size() == 0) {
        return InvalidField(absl::StrCat(iat, ".architectures"), "at least one architecture");
      }
    }
    if (b.step_type() == v1::STEP_TYPE_PLUGIN) {
      if (b.default_version().empty()) {
        return InvalidField(absl::StrCat(at, ".default_version"), "required for plugin builders");
      }
      if (b.tag_template().find("{version}") == std::string::npos) {
        return InvalidField(absl::StrCat(at, ".tag_template"), "must contain {version}");
      }
      bool known = false;
      for (const auto& v : b.known_versions()) known |= v == b.default_version();
      if (!known) {
        return InvalidField(absl::StrCat(at, ".default_version"), "must be one of known_versions");
      }
    }
    if (b.profiles_size() == 0) {
      return InvalidField(absl::StrCat(at, ".profiles"), "at least one run profile");
    }
    for (int j = 0; j < b.profiles_size(); ++j) {
      const auto& p = b.profiles(j);
      const std::string pat = absl::StrCat(at, ".profiles[", j, "]");
      if (p.name().empty()) return InvalidField(absl::StrCat(pat, ".name"), "required");
      if (p.run_as_root() && p.has_uid()) {
        return InvalidField(absl::StrCat(pat, ".uid"), "a root profile cannot fix a non-root uid");
      }
      if (p.has_uid() && p.uid() <= 0) {
        return InvalidField(absl::StrCat(pat, ".uid"), "must be a non-root UID (> 0)");
      }
    }
    if (b.dry_run().destinations_size() > 0 && b.dry_run().knob().name().empty()) {
      return InvalidField(absl::StrCat(at, ".dry_run.knob.name"),
                          "required when dry run is supported");
    }
    if (b.caching().supported() && b.caching().knob().name().empty()) {
      return InvalidField(absl::StrCat(at, ".caching.knob.name"),
                          "required when caching is supported");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::BuilderCatalog> ApplyCatalogOverrides(
    const v1::BuilderCatalog& base,
    const google::protobuf::RepeatedPtrField<v1::BuilderSpec>& overrides) {
  v1::BuilderCatalog result = base;
  std::set<int> seen;
  for (int i = 0; i < overrides.size(); ++i) {
    const v1::BuilderSpec& o = overrides[i];
    const std::string at = absl::StrCat("policy.catalog_overrides[", i, "]");
    if (o.builder() == v1::BUILDER_UNSPECIFIED)
      return InvalidField(absl::StrCat(at, ".builder"), "required");
    if (!seen.insert(o.builder()).second) {
      return InvalidField(absl::StrCat(at, ".builder"), "overridden twice");
    }
    v1::BuilderSpec* target = nullptr;
    for (v1::BuilderSpec& spec : *result.mutable_builders()) {
      if (spec.builder() == o.builder()) target = &spec;
    }
    if (target == nullptr) target = result.add_builders();
    std::vector<const FieldDescriptor*> fields;
    o.GetReflection()->ListFields(o, &fields);
    for (const FieldDescriptor* field : fields) {
      target->GetReflection()->ClearField(target, field);
    }
    target->MergeFrom(o);  // Cleared fields above, so lists replace.
  }
  BG_RETURN_IF_ERROR(ValidateCatalog(result, "policy.catalog_overrides (merged catalog)"));
  return result;
}

}  // namespace buildgate
