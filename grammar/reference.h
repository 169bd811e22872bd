// Image references by the OCI distribution reference grammar
// (distribution/reference):
//   reference      := name [ ":" tag ] [ "@" digest ]
//   name           := [ domain "/" ] path-component ( "/" path-component )*
//   domain         := the first component when it holds a '.' or a ':' or is
//                     "localhost": a host (DNS labels) with an optional port
//   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag            := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest         := algorithm ":" hex, e.g. sha256:<64 hex>
// Docker Hub's own names (docker.io, index.docker.io, registry-1.docker.io)
// are dropped from `repository`, so plugins/docker and
// docker.io/plugins/docker name the same image.
//
// A Harness expression (<+...>, grammar/expression.h) is unknown until the
// pipeline runs. One in the tag or the digest leaves the image recognisable
// (plugins/kaniko:<+pipeline.variables.KANIKO_VERSION>) and is reported as
// such; one in the registry host or the repository is an error, since the
// image, and so the builder, cannot be known.
//
// Thread-safe: pure functions.
#ifndef BUILDGATE_GRAMMAR_REFERENCE_H_
#define BUILDGATE_GRAMMAR_REFERENCE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace buildgate {

// Views into the text the reference was parsed from.
struct ImageReference {
  absl::string_view domain;           // "" for Docker Hub.
  absl::string_view repository;       // Path components, without domain, tag or digest.
  absl::string_view tag;              // "" when untagged.
  absl::string_view digest;           // "" when not pinned by digest.
  bool tag_is_expression = false;     // `tag` holds a Harness expression.
  bool digest_is_expression = false;  // `digest` holds a Harness expression.
};

// Parses `text`. kInvalidArgument "FIELD: ..." naming `field` and the rule
// broken (an expression outside the tag and digest breaks one).
absl::StatusOr<ImageReference> ParseImageReference(absl::string_view text, absl::string_view field);

// `image` without its tag and digest, as written ("registry:5000/a/b:1@sha256:…"
// -> "registry:5000/a/b"): the text before the first '@', and before the
// last ':' after the last '/' there. Expressions are never split (a ':' or
// '@' inside one is not a separator). For text that need not parse (a
// Plugin image to classify, an image a Run step's command tags).
absl::string_view ImageNameOf(absl::string_view image);

// Why `mirror` is not a plugin mirror prefix (a registry host with an
// optional path, lower case, no scheme, tag, digest, wildcard or
// expression, and not Docker Hub itself), or "" when it is one.
std::string PluginMirrorProblem(absl::string_view mirror);

// Why `repository` (a Build and Push step's repo: an optional registry host
// then path components, no tag) breaks the grammar, or "" when it fits.
// Harness expressions may stand anywhere in it; the text around them must
// fit. Letters are judged case-insensitively (the brief writes
// myDockerHub1234/test).
std::string RepositoryProblem(absl::string_view repository);

// Why `tag` breaks the tag grammar, or "" when it is a valid tag.
std::string TagProblem(absl::string_view tag);

}  // namespace buildgate

#endif  // BUILDGATE_GRAMMAR_REFERENCE_H_
