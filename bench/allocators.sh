#!/usr/bin/env bash
# Does a faster malloc help buildgated, and the bare echo server alike?
#   bench/allocators.sh [BUILD_DIR] [ROUNDS]
# For each allocator (glibc, then every one of jemalloc, tcmalloc-minimal and
# mimalloc found installed) both servers run with it preloaded (LD_PRELOAD:
# same binaries, nothing else changes) and h2load saturates each with the
# same Decide frame, FULL and BASIC view, echo and buildgated interleaved;
# ROUNDS (default 3) rounds rotate the allocators so a noisy minute hits
# them all. Prints one JSON line per run; the medians decide (see
# docs/performance.md "Allocator").
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
rounds="${2:-3}"
. bench/lib.sh
lib=/usr/lib/x86_64-linux-gnu
declare -A allocators=([glibc]="")
for name in jemalloc:libjemalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4 mimalloc:libmimalloc.so.2; do
  [ -e "$lib/${name#*:}" ] && allocators[${name%%:*}]="$lib/${name#*:}"
done

"$build/bench/load_client" --corpus=tests/cases --write_policy_dir="$work/policies" >/dev/null
declare -A bytes
for view in full basic; do
  bytes[$view]=$("$build/bench/load_client" --corpus=tests/cases --write_frame="$work/$view.bin" \
    --frame_scenario=ecr-buildah-region-setting.yaml --view=$view |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["response_bytes"])')
done

for round in $(seq 1 "$rounds"); do
  for alloc in "${!allocators[@]}"; do
    pre=${allocators[$alloc]}
    rm -f "$work"/*.port
    env ${pre:+LD_PRELOAD=$pre} "$build/service/buildgated" --listen=127.0.0.1:0 --metrics_address= \
      --decision_log="$work/decisions.log" --policy_dir="$work/policies" --port_file="$work/bg.port" \
      >/dev/null 2>&1 &
    pids=($!)
    env ${pre:+LD_PRELOAD=$pre} "$build/bench/echo_server" --listen=127.0.0.1:0 \
      --response_bytes="${bytes[full]}" --basic_response_bytes="${bytes[basic]}" \
      --port_file="$work/echo.port" >/dev/null 2>&1 &
    pids+=($!)
    wait_for_file "$work/bg.port"
    wait_for_file "$work/echo.port"
    for view in full basic; do
      for server in echo bg; do
        port=$(head -1 "$work/$server.port")
        rps=$(h2load -D 4 --warm-up-time 1 -c 8 -m 32 -t 1 -H 'content-type: application/grpc' \
          -H 'te: trailers' -d "$work/$view.bin" \
          "http://127.0.0.1:$port/buildgate.v1.BuildGateService/Decide" 2>&1 |
          awk '/finished in/ {print $4}')
        echo "{\"round\":$round,\"allocator\":\"$alloc\",\"view\":\"$view\",\"server\":\"$server\",\"rps\":${rps:-0}}"
      done
    done
    kill -TERM "${pids[@]}"
    wait "${pids[@]}" 2>/dev/null || true
    pids=()
  done
done
