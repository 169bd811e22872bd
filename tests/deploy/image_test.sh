#!/usr/bin/env bash
# Image check (run by ctest as deploy.image): builds the runtime image with
# deploy/build-image.sh, then runs it from the OCI archive as a container
# runtime would - unpacked by tests/deploy/unpack_oci.py (every blob checked
# against its digest), started as the image's User with its Entrypoint:
#  - the user is 65532 and nothing in the image is writable by it, so it runs
#    with a read-only root filesystem; no shell, no package manager;
#  - buildgated runs as 65532 on the example policies shipped in the image,
#    answers health and a decision from the CLI outside it, and stops
#    cleanly on SIGTERM; the image's CLI runs too;
#  - prints the image size.
# (It runs the image with chroot rather than `buildah run`: the same files,
# user and entrypoint, and it also works where buildah cannot set up mounts,
# such as inside a chroot.)
#   image_test.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src="$1"
bin="$2"
work="$bin/deploy-image"
rm -rf "$work"
mkdir -p "$work"
export BUILDGATE_IMAGE_STORE="$work/store"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$src/deploy/build-image.sh" "$bin" "$work/buildgate.oci.tar"
rootfs="$work/rootfs"
config=$(python3 "$src/tests/deploy/unpack_oci.py" "$work/buildgate.oci.tar" "$rootfs")
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(v if isinstance(v,(str,int)) else " ".join(v))' "$config" "$1"; }
user=$(field User)
entrypoint=$(field Entrypoint)
[ "$user" = "65532:65532" ] || fail "image user is '$user'"
[ "$entrypoint" = "/usr/local/bin/buildgated" ] || fail "entrypoint is '$entrypoint'"
[ "$(field Cmd)" = "--listen=0.0.0.0:50051 --metrics_address=0.0.0.0:9464" ] || fail "cmd is '$(field Cmd)'"

# Its files: root-owned, none writable by the user, no shell.
writable=$(find "$rootfs" -xdev ! -type l \( ! -user 0 -o -perm -o+w -o \( -perm -g+w ! -group 0 \) \) | head -5)
[ -z "$writable" ] || fail "writable by the image's user: $writable"
[ ! -e "$rootfs/bin/sh" ] && [ ! -e "$rootfs/usr/bin/sh" ] || fail "the image has a shell"
grep -q '^buildgate:x:65532:65532:' "$rootfs/etc/passwd" || fail "no passwd entry for 65532"
[ -s "$rootfs/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA certificates"
[ -s "$rootfs/usr/share/buildgate/policies/acme.yaml" ] || fail "no example policies"

run_as_image_user() { chroot --userspec="$user" "$rootfs" "$@"; }
run_as_image_user /usr/local/bin/buildgate version | grep -q '^buildgate ' || fail "the CLI does not run in the image"

# The server, as the image's user, on the policies shipped in the image. The
# only writable place is a directory added now (as a pod's emptyDir), for
# the port file.
mkdir -p "$rootfs/run/buildgate"
chown "$user" "$rootfs/run/buildgate"
chroot --userspec="$user" "$rootfs" "$entrypoint" --listen=127.0.0.1:0 --metrics_address=127.0.0.1:0 \
  --policy_dir=/usr/share/buildgate/policies --port_file=/run/buildgate/port \
  > "$work/stdout" 2> "$work/stderr" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$rootfs/run/buildgate/port" ] && break; sleep 0.1; done
[ -s "$rootfs/run/buildgate/port" ] || { cat "$work/stderr" >&2; fail "buildgated did not start from the image"; }
port=$(head -1 "$rootfs/run/buildgate/port")
[ "$(stat -c %u "/proc/$server_pid")" = "65532" ] || fail "buildgated runs as UID $(stat -c %u "/proc/$server_pid")"
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
kill -TERM "$server_pid"
wait "$server_pid" || fail "buildgated exited $? on SIGTERM"
trap - EXIT
grep -q '"message":"stopped"' "$work/stderr" || fail "buildgated did not stop cleanly"
echo "deploy.image: OK; image $(field unpacked_bytes) bytes unpacked, OCI archive $(du -h "$work/buildgate.oci.tar" | cut -f1)"
