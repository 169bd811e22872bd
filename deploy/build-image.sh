#!/usr/bin/env bash
# Builds the buildgated runtime image with buildah, FROM scratch, out of the
# binaries scripts/build.sh made on this Debian 12 machine - no registry and
# no base image needed. What goes in: deploy/assemble-rootfs.sh. It runs as
# 65532 with a read-only root filesystem (buildgated writes nothing: logs go
# to stdout/stderr). Writes the image as an OCI archive.
#
#   deploy/build-image.sh [BUILD_DIR [OUTPUT.tar]]
#     BUILD_DIR: a Release build (default: build; built if missing)
#     OUTPUT:    OCI archive (default: BUILD_DIR/image/buildgate.oci.tar)
#   Load it elsewhere with: podman load -i OUTPUT   (or skopeo copy
#   oci-archive:OUTPUT docker://REGISTRY/buildgate:TAG)
#
# Storage is buildah's vfs driver with chroot isolation (works as root
# without overlay or user namespaces), kept in BUILD_DIR/image/store
# (BUILDGATE_IMAGE_STORE overrides) so it never touches the machine's own
# container storage. deploy/Containerfile builds the same image with a
# registry's debian:12 images instead.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(realpath -m "${1:-build}")
out=$(realpath -m "${2:-$build_dir/image/buildgate.oci.tar}")
store="${BUILDGATE_IMAGE_STORE:-$build_dir/image/store}"
command -v buildah >/dev/null || { echo "build-image: buildah is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }
if [ ! -x "$build_dir/service/buildgated" ] || [ ! -x "$build_dir/client/buildgate" ]; then
  BUILD_DIR="$build_dir" scripts/build.sh Release >/dev/null
fi
bh() { buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs "$@"; }

version=$("$build_dir/service/buildgated" --version | head -1 | awk '{print $2}')
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
tag="buildgate:$version"

ctr=$(bh from --isolation chroot scratch)
trap 'bh rm "$ctr" >/dev/null 2>&1 || true' EXIT
deploy/assemble-rootfs.sh "$build_dir" "$(bh mount "$ctr")" >/dev/null
bh umount "$ctr" >/dev/null

# The image's configuration; deploy/Containerfile's runtime stage sets the
# same. Flags are the command, not the entrypoint: a Kubernetes `args:` list
# replaces them (buildgated refuses a flag given twice).
bh config \
  --user 65532:65532 \
  --entrypoint '["/usr/local/bin/buildgated"]' \
  --cmd '["--listen=0.0.0.0:50051", "--metrics_address=0.0.0.0:9464"]' \
  --port 50051 --port 9464 \
  --workingdir / \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --label org.opencontainers.image.title=buildgate \
  --label org.opencontainers.image.description="buildgated: build-and-push policy decisions over gRPC" \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$revision" \
  "$ctr"
mkdir -p "$(dirname "$out")"
rm -f "$out"
# Straight to the archive: nothing is left in the store (and no layer is
# applied to it, which needs a real mount namespace).
bh commit --quiet --rm --disable-compression=false "$ctr" "oci-archive:$out:$tag" >/dev/null
trap - EXIT
echo "build-image: $tag -> $out ($(du -h "$out" | cut -f1))"
