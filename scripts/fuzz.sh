#!/usr/bin/env bash
# Runs the libFuzzer targets longer than the test command does, keeping what
# they find: new inputs go to build-asan/fuzz-corpus/<target>/ (seeded from
# tests/fuzz/corpus/<target>/), crashes to build-asan/fuzz-crashes/.
# Every crash found should become a seed in tests/fuzz/corpus and a
# regression test.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 300, all)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(policy_text step_text decide reference service)
scripts/install-deps.sh
scripts/build.sh asan
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
export LSAN_OPTIONS="suppressions=$(pwd)/tests/sanitizers/lsan.supp"
for t in "${targets[@]}"; do
  corpus=build-asan/fuzz-corpus/$t
  mkdir -p "$corpus" build-asan/fuzz-crashes
  echo "== fuzz_$t for ${seconds}s"
  build-asan/tests/fuzz/fuzz_$t -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix=build-asan/fuzz-crashes/"$t"- \
    "$corpus" tests/fuzz/corpus/"$t" 2>&1 | grep -E "^stat::|Done|ERROR|SUMMARY" || true
done
ls build-asan/fuzz-crashes 2>/dev/null | sed 's/^/crash: /' || true
