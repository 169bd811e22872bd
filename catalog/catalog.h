// The builder catalog: loading the shipped default, validating a catalog, and
// applying an org's overrides. It holds the builders (images, run profiles,
// caching, dry run) and the infrastructures Harness builds on (what it runs
// for a build there, on which operating systems).
//
// Thread-safe: all functions are pure; DefaultCatalog() returns an immutable
// instance built once.
#ifndef BUILDGATE_CATALOG_CATALOG_H_
#define BUILDGATE_CATALOG_CATALOG_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buildgate/v1/catalog.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace buildgate {

// The catalog shipped in catalog/builders.yaml (compiled in).
const v1::BuilderCatalog& DefaultCatalog();

// Checks internal consistency; errors name `field_prefix` + the field.
absl::Status ValidateCatalog(const v1::BuilderCatalog& catalog, absl::string_view field_prefix);

// Returns `base` with each override applied: every field set in an override
// replaces the builder's field (lists replace whole lists). The result is
// validated; errors name "policy.catalog_overrides[i]...".
absl::StatusOr<v1::BuilderCatalog> ApplyCatalogOverrides(
    const v1::BuilderCatalog& base,
    const google::protobuf::RepeatedPtrField<v1::BuilderSpec>& overrides);

// The catalog entry for `builder`, or nullptr.
const v1::BuilderSpec* FindBuilder(const v1::BuilderCatalog& catalog, v1::Builder builder);

// The catalog entry for `type` (UNSPECIFIED is Kubernetes), or nullptr.
const v1::InfrastructureSpec* FindInfrastructure(const v1::BuilderCatalog& catalog,
                                                 v1::InfrastructureType type);

// What `infrastructure` runs on `os` (UNSPECIFIED is Linux), or nullptr
// when the catalog holds no facts for it.
const v1::OsSupport* FindOsSupport(const v1::InfrastructureSpec& infrastructure,
                                   v1::OperatingSystem os);

}  // namespace buildgate

#endif  // BUILDGATE_CATALOG_CATALOG_H_
