#!/usr/bin/env bash
# Image check (run by ctest as deploy.image): builds the runtime image with
# deploy/build-image.sh, loads it back from the OCI archive, and runs it as
# a user would:
#  - nothing in the image is writable by its user (65532), so it runs with a
#    read-only root filesystem; it has no shell and no package manager;
#  - buildgated runs from it as UID 65532 on the example policies shipped in
#    the image, answers health and a decision from the CLI outside it, and
#    stops cleanly on SIGTERM; the CLI in the image runs too;
#  - prints the image size.
#   image_test.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src="$1"
bin="$2"
work="$bin/deploy-image"
rm -rf "$work"
mkdir -p "$work/run"
export BUILDGATE_IMAGE_STORE="$work/store"
bh() { buildah --root "$BUILDGATE_IMAGE_STORE/root" --runroot "$BUILDGATE_IMAGE_STORE/run" --storage-driver vfs "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

"$src/deploy/build-image.sh" "$bin" "$work/buildgate.oci.tar"
ctr=$(bh from --quiet --isolation chroot "oci-archive:$work/buildgate.oci.tar")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  bh rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The image's configuration.
config=$(bh inspect --type container --format '{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}}' "$ctr")
[ "$config" = "65532:65532 [/usr/local/bin/buildgated]" ] || fail "user/entrypoint: $config"

# Its files: root-owned, none writable by the user, no shell.
rootfs=$(bh mount "$ctr")
writable=$(find "$rootfs" -xdev ! -type l \( ! -user 0 -o -perm -o+w -o \( -perm -g+w ! -group 0 \) \) | head -5)
[ -z "$writable" ] || fail "writable by the image's user: $writable"
[ ! -e "$rootfs/bin/sh" ] && [ ! -e "$rootfs/usr/bin/sh" ] || fail "the image has a shell"
grep -q '^buildgate:x:65532:65532:' "$rootfs/etc/passwd" || fail "no passwd entry for 65532"
[ -s "$rootfs/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA certificates"
ls "$rootfs/usr/share/buildgate/policies/acme.yaml" >/dev/null
bh umount "$ctr" >/dev/null

# The CLI in the image.
bh run --isolation chroot --user 65532:65532 "$ctr" -- /usr/local/bin/buildgate version | grep -q '^buildgate ' \
  || fail "the CLI does not run in the image"

# The server, as 65532, on the policies shipped in the image. The only
# writable place is a mounted directory (as a pod's emptyDir) for the port file.
chown 65532:65532 "$work/run"
bh run --isolation chroot --user 65532:65532 --network host --volume "$work/run:/run/buildgate" "$ctr" -- \
  /usr/local/bin/buildgated --listen=127.0.0.1:0 --metrics_address=127.0.0.1:0 \
  --policy_dir=/usr/share/buildgate/policies --port_file=/run/buildgate/port \
  > "$work/stdout" 2> "$work/stderr" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/run/port" ] && break; sleep 0.1; done
[ -s "$work/run/port" ] || { cat "$work/stderr" >&2; fail "buildgated did not start from the image"; }
port=$(head -1 "$work/run/port")
pgrep -u 65532 -f "^/usr/local/bin/buildgated .*--port_file=/run/buildgate/port" >/dev/null \
  || fail "buildgated is not running as 65532"
"$bin/client/buildgate" health --server "127.0.0.1:$port" | grep -q SERVING || fail "health"
set +e
"$bin/client/buildgate" decide --server "127.0.0.1:$port" --org acme \
  --step "$src/examples/steps/build-and-push-ecr.yaml" > "$work/decision.txt"
rc=$?
set -e
# 10: allowed with changes (the example ECR step runs as root).
[ "$rc" -eq 0 ] || [ "$rc" -eq 10 ] || fail "decide exited $rc: $(cat "$work/decision.txt")"
grep -q '^verdict: *VERDICT_ALLOW' "$work/decision.txt" || fail "decision: $(cat "$work/decision.txt")"
grep -q '"policy sets loaded".*"from":"/usr/share/buildgate/policies"' "$work/stderr" || fail "policies not from the image"
# SIGTERM reaches buildgated through buildah's chroot helper: a clean exit.
pkill -TERM -u 65532 -f "^/usr/local/bin/buildgated .*--port_file=/run/buildgate/port"
wait "$server_pid" || true
server_pid=
grep -q '"message":"stopped"' "$work/stderr" || fail "buildgated did not stop cleanly"
size=$(bh images --format '{{.Size}}' "$(bh inspect --type container --format '{{.FromImageID}}' "$ctr")" 2>/dev/null || true)
echo "deploy.image: OK; image $size uncompressed, OCI archive $(du -h "$work/buildgate.oci.tar" | cut -f1)"
