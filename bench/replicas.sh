#!/usr/bin/env bash
# Throughput of one buildgated against three behind one ipv4: target (the
# client's round_robin spreads calls over all three), same client, same
# load, one run:  bench/replicas.sh [BUILD_DIR] [DURATION]
# Extra buildgated flags from $BUILDGATED_FLAGS (e.g.
# --decision_log_before_reply=false to compare the decision-log modes).
# Prints one JSON line per setup and load: 64 calls in flight (throughput)
# and 1 (latency). On a machine with few cores the replicas
# share the cores with each other and with the load client, so three cannot
# be much faster than one here; what scale-out buys is measured where each
# replica has its own cores (docs/operating.md says how to size).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
dur="${2:-5s}"
. bench/lib.sh
"$build/bench/load_client" --corpus=tests/cases --write_policy_dir="$work/policies" >/dev/null
ports=()
start() {  # appends the replica's port to ports
  local dir="$work/r$1"
  mkdir -p "$dir"
  "$build/service/buildgated" --listen=127.0.0.1:0 --metrics_address= --policy_dir="$work/policies" \
    --decision_log="$dir/decisions.log" --port_file="$dir/port" ${BUILDGATED_FLAGS:-} 2>"$dir/stderr" &
  pids+=($!)
  wait_for_file "$dir/port" || true
  ports+=("$(head -1 "$dir/port")")
}
start 1
start 2
start 3
p1=${ports[0]} p2=${ports[1]} p3=${ports[2]}
echo "cores: $(nproc)"
for setup in "one 127.0.0.1:$p1" "three ipv4:127.0.0.1:$p1,127.0.0.1:$p2,127.0.0.1:$p3"; do
  read -r label target <<<"$setup"
  for inflight in 64 1; do
    "$build/bench/load_client" --corpus=tests/cases --target="$target" --mode=closed --inflight="$inflight" \
      --channels=4 --duration="$dur" --warmup=1s --label="replicas.$label.inflight$inflight"
  done
done
