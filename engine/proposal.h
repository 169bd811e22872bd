// What a build step proposes, resolved once against the catalog and the
// scope's policy: where it pushes, which builder it asks for, and for a
// Plugin step which catalog image it runs. The step checks, the builder
// choice and the renderer all read this one value instead of deriving the
// host, the push target or the ECR region again.
//
// Every derived value says whether it is known at decision time. A Harness
// expression (grammar/expression.h) is carried verbatim: a host that holds
// one is not lower-cased or split, an ECR region that is one stays the whole
// expression, and a check that depends on an unknown value says so instead
// of guessing.
//
// Thread-safe: ResolveProposal is pure. A Proposal holds views into the
// step it was resolved from: the step must outlive it.
#ifndef BUILDGATE_ENGINE_PROPOSAL_H_
#define BUILDGATE_ENGINE_PROPOSAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "buildgate/v1/common.pb.h"
#include "buildgate/v1/policy.pb.h"
#include "buildgate/v1/step.pb.h"

namespace buildgate {

struct CatalogData;

// A Plugin step's image, recognised as a catalog plugin image.
struct ProposedImage {
  absl::string_view reference;  // As written in step.image.
  absl::string_view tag;        // "" when untagged.
  absl::string_view digest;     // "" when not pinned by digest.
  bool tag_known = true;        // False: the tag holds a Harness expression.
  bool digest_known = true;
  // The catalog repository it is, e.g. "plugins/buildah-docker" (a view into
  // the catalog, which the compiled policy set keeps alive).
  absl::string_view catalog_repository;
  // When pulled from one of the policy's plugin_mirrors: the image's name up
  // to where the catalog repository's remaining segments start
  // ("registry.example.com/plugins/"), and the catalog repository's part it
  // stands for ("plugins/"). Both "" for the official image.
  std::string mirror_prefix;
  std::string mirrored_prefix;
};

struct Proposal {
  Proposal() = default;
  // Views point into the Proposal's own strings: filled in place, never copied.
  Proposal(const Proposal&) = delete;
  Proposal& operator=(const Proposal&) = delete;

  v1::Destination destination = v1::DESTINATION_UNSPECIFIED;
  // The builder the step asks for, or the one Harness would run for it.
  v1::Builder builder = v1::BUILDER_UNSPECIFIED;
  bool is_plugin = false;
  ProposedImage image;  // Plugin steps only.

  // The registry host ("docker.io", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
  // the destination's default when step.registry is empty; lower case
  // outside expressions.
  std::string registry_host;
  bool registry_host_known = true;
  // "host/repository" for the registry allowlist. A repository whose first
  // segment is a host keeps it; official Docker Hub images get "library/".
  std::string push_target;
  bool push_host_known = true;  // The target's host holds no expression.
  bool push_path_known = true;  // Its repository holds no expression.
  // ECR only: the account and region labels of registry_host, each as
  // written (an expression stays whole); "" when not ECR.
  absl::string_view ecr_account;
  absl::string_view ecr_region;
  // GCR and GAR only: step.repo split into the project and the image name at
  // its first '/' outside expressions (project "" when it has none).
  absl::string_view gcp_project;
  absl::string_view gcp_image_name;
  // step.credentials' password and username: set and not one Harness
  // expression (a secret or variable), i.e. written in plaintext.
  bool password_plaintext = false;
  bool username_plaintext = false;
};

// Resolves `step` (already validated by ValidateStep) under the scope's
// effective `policy`. kInvalidArgument naming the field when the step cannot
// be resolved: a plugin image that is no catalog plugin (nor a mirror of
// one), a requested builder that contradicts the image, a registry of the
// wrong shape for its destination.
absl::Status ResolveProposal(const CatalogData& catalog, const v1::Policy& policy,
                             const v1::BuildStep& step, Proposal* out);
// The Proposal would view into a step about to die.
absl::Status ResolveProposal(const CatalogData& catalog, const v1::Policy& policy,
                             const v1::BuildStep&& step, Proposal* out) = delete;

// True when `image` (a Plugin step's image, any tag or digest) is a builder
// plugin of the catalog or pulled from one of `policy`'s plugin_mirrors:
// whether a Plugin step is an image build at all.
bool IsBuilderPluginImage(const CatalogData& catalog, const v1::Policy& policy,
                          absl::string_view image);

// `catalog_image` ("plugins/buildah-docker:1.1.0-linux-amd64") as pulled
// from the proposal's mirror when it has one and the image is under the
// part of the catalog the mirror stands for; else `catalog_image` itself.
std::string ImageFromProposedSource(const Proposal& p, absl::string_view catalog_image);

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_PROPOSAL_H_
