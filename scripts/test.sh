#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs every
# test three ways:
#  1. Release (-O3, what users, the benchmarks and the image build): every
#     test, corpus, property, CLI, process, interop and benchmark smoke run.
#  2. AddressSanitizer + UndefinedBehaviorSanitizer (clang-14): every test
#     again, plus each libFuzzer target for a bounded time (fuzz_smoke.*).
#     Any sanitizer report fails the test that caused it.
#  3. ThreadSanitizer: the engine, cache, store, decision-log, pipeline and
#     lint tests
#     (their locks are std:: locks TSan sees; Debian's gRPC and Abseil are
#     not built for TSan, so tests that run a gRPC server are left out
#     rather than drowned in reports about locks TSan cannot see).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)
scripts/install-deps.sh

echo "== Release build and tests"
scripts/build.sh Release
(cd build && ctest --output-on-failure --timeout 600 -j "$jobs")

export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
export ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:strict_init_order=1
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== AddressSanitizer + UndefinedBehaviorSanitizer build, tests and fuzz smoke"
scripts/build.sh asan
# deploy.image packs the Release binaries' kind of image; not ASan builds.
# lint.harness_schema checks what --fix writes, the same in every build: the
# Release run is enough (the real corpus runs under ASan in lint_tests).
(cd build-asan && ctest --output-on-failure --timeout 600 -j "$jobs" -E '^(fuzz_smoke|bench_smoke|deploy\.image$|lint\.harness_schema$)')
(cd build-asan && ctest --output-on-failure --timeout 600 -j 1 -R '^fuzz_smoke')

echo "== ThreadSanitizer build and concurrency tests"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/sanitizers/tsan.supp"
scripts/build.sh tsan
(cd build-tsan && ctest --output-on-failure --timeout 600 -j "$jobs" \
   -E '^((ServiceTest|ProcessTest|StoreFaultTest|HostileInputTest|interop|deploy)\.|lint\.sarif_schema$|lint\.harness_schema$|.*_NOT_BUILT$)')
