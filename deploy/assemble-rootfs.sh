#!/usr/bin/env bash
# Lays out buildgate's runtime root filesystem in ROOTFS from a build on this
# Debian 12 machine. The one description of what the image holds, used by
# deploy/build-image.sh (buildah, here) and deploy/Containerfile (a
# registry's debian:12):
#   /usr/local/bin/buildgated, /usr/local/bin/buildgate
#   exactly the shared libraries they load (ldd) and the dynamic loader,
#     under Debian's merged /usr (/lib, /lib64 are links into /usr)
#   /etc/ssl/certs/ca-certificates.crt
#   /etc/passwd, /etc/group: buildgate = 65532:65532, the user it runs as
#   /usr/share/buildgate/policies: the example policy sets (the server also
#     embeds them: with no --policy_dir it serves those)
# No shell, no package manager. Everything is owned by root and read-only to
# the user, so the image runs as 65532 with a read-only root filesystem.
#   deploy/assemble-rootfs.sh BUILD_DIR ROOTFS
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:?build dir}
root=${2:?rootfs dir}
binaries=("$build_dir/service/buildgated" "$build_dir/client/buildgate")

# Every shared library the binaries load, resolved to files; a missing
# library fails here rather than the container at start.
needed=$(for b in "${binaries[@]}"; do ldd "$b"; done)
if grep -q "not found" <<<"$needed"; then
  grep "not found" <<<"$needed" >&2
  echo "assemble-rootfs: a library the binaries need is missing" >&2
  exit 1
fi
# "libx.so.1 => /lib/.../libx.so.1 (0x...)" and the loader "/lib64/ld-linux-x86-64.so.2 (0x...)".
mapfile -t libraries < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$needed" | sort -u)

install -d -m 0755 "$root" "$root/usr/lib" "$root/usr/lib64" "$root/usr/local/bin" "$root/etc/ssl/certs" \
  "$root/usr/share/buildgate/policies"
ln -sfn usr/lib "$root/lib"
ln -sfn usr/lib64 "$root/lib64"
for lib in "${libraries[@]}"; do
  file=$(realpath "$lib")  # Its own mode: the loader must stay executable.
  install -D -m "$(stat -c %a "$file")" "$file" "$root$lib"
done
install -m 0755 "${binaries[@]}" "$root/usr/local/bin/"
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
install -m 0644 "$src"/examples/policies/*.yaml "$root/usr/share/buildgate/policies/"
printf 'root:x:0:0:root:/:/sbin/nologin\nbuildgate:x:65532:65532:buildgate:/:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nbuildgate:x:65532:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/nsswitch.conf"
chown -R 0:0 "$root"
chmod 0755 "$root"
echo "assemble-rootfs: ${#binaries[@]} binaries, ${#libraries[@]} shared libraries -> $root"
