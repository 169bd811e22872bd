#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on a scratch copy of its seed
# corpus (new inputs never land in the repo). Fails on any crash, leak,
# sanitizer report, timeout or out-of-memory; prints the execution count.
# Usage: run_fuzzer.sh FUZZER SEED_DIR SECONDS [extra libFuzzer flags]
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp -r "$seeds"/. "$work/corpus/"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" \
  >"$work/log" 2>&1 || status=$?
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|Done [0-9]+ runs" "$work/log" || true
if [ "$status" -ne 0 ]; then
  tail -60 "$work/log"
  for a in "$work"/artifacts/*; do
    [ -e "$a" ] || continue
    echo "crash input $(basename "$a") (base64):"; base64 -w0 "$a"; echo
  done
  exit "$status"
fi
