#!/usr/bin/env bash
# Configures and builds buildgate.
# Usage: scripts/build.sh [Release|RelWithDebInfo|Debug|asan|tsan]
#   Release, RelWithDebInfo, Debug: g++, into ./build (or $BUILD_DIR).
#   asan: clang-14 with AddressSanitizer + UndefinedBehaviorSanitizer and
#         the libFuzzer targets, into ./build-asan (or $BUILD_DIR).
#   tsan: clang-14 with ThreadSanitizer, into ./build-tsan (or $BUILD_DIR);
#         only the test binaries whose locks TSan can see (see scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-RelWithDebInfo}"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
targets=()
case "$flavour" in
  asan)
    build_dir="${BUILD_DIR:-build-asan}"
    config=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
            -DBUILDGATE_SANITIZE=address,undefined -DBUILDGATE_BUILD_FUZZERS=ON -DBUILDGATE_BUILD_BENCH=OFF)
    ;;
  tsan)
    build_dir="${BUILD_DIR:-build-tsan}"
    config=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
            -DBUILDGATE_SANITIZE=thread -DBUILDGATE_BUILD_BENCH=OFF)
    targets=(--target grammar_tests input_tests engine_tests store_tests service_tests pipeline_tests lint_tests)
    ;;
  *)
    build_dir="${BUILD_DIR:-build}"
    config=(-DCMAKE_BUILD_TYPE="$flavour")
    ;;
esac
# Reconfigure when the flavour's settings differ from the cache's.
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" "${config[@]}" >/dev/null
else
  cmake -S . -B "$build_dir" "${config[@]}" >/dev/null
fi
cmake --build "$build_dir" --parallel "$(nproc)" "${targets[@]}"
