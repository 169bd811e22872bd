#!/usr/bin/env bash
# The performance report in one command (see README "Performance"):
#   bench/run_benchmarks.sh            builds Release, runs everything, writes
#                                      bench/results/<UTC time>/{report.md,report.json,latency.png}
#   bench/run_benchmarks.sh --smoke --build-dir DIR
#                                      seconds-long run with an existing build, for CI;
#                                      writes into DIR/bench-smoke, asserts nothing on time
# Every comparison runs side by side in this invocation: buildgated beside the
# bare echo server (same gRPC, same options, same response size, same load),
# and the engine beside Cedar on the same scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
smoke=0
build_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --build-dir) build_dir="$2"; shift ;;
    *) echo "usage: $0 [--smoke] [--build-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done

if [ "$smoke" = 1 ]; then
  build="${build_dir:-build}"
  out="$build/bench-smoke"
  dur=500ms; warm=200ms; engine_min=0.01; callgrind_min=0.01; engine_reps=1; prime=1000; many_files=100; cedar_iter=1; sweep="0.5"; rounds=1
else
  scripts/install-deps.sh
  build="${build_dir:-build-release}"
  BUILD_DIR="$build" scripts/build.sh Release >/dev/null
  out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
  dur=5s; warm=1s; engine_min=0.5; callgrind_min=0.1; engine_reps=3; prime=100000; many_files=10000; cedar_iter=20; sweep="0.1 0.25 0.5 0.75 0.9"; rounds=3
fi
mkdir -p "$out"
. bench/lib.sh
log() { echo "bench: $*" >&2; }

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# The RSS's anonymous part: the process's own memory (heap, stacks, pages
# written after loading); the rest is pages of the binary and its shared
# libraries, read from files and shareable.
anon_kb() { awk '/RssAnon/ {print $2}' "/proc/$1/status"; }

# Starts a server with --port_file; echoes "PID PORT".
start_server() {
  local port_file="$work/port.$RANDOM"
  "$@" --port_file="$port_file" >"$work/server.$RANDOM.log" 2>&1 &
  local pid=$!
  wait_for_file "$port_file" || true
  echo "$pid $(head -1 "$port_file") $(sed -n 2p "$port_file")"
}

# 1. Engine microbenchmarks.
log "engine microbenchmarks"
# Three repetitions; the report takes each benchmark's median (one 0.5 s
# sample on this shared machine varies by half).
"$build/bench/engine_bench" --benchmark_min_time="$engine_min" --benchmark_format=json \
  --benchmark_repetitions="$engine_reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/engine.json" --benchmark_out_format=json >/dev/null

# Instructions per call (callgrind counts them; unlike times, they do not
# move with the machine's load), for the engine rows the goals name and the
# decision log line.
: >"$out/instructions.jsonl"
for spec in "BM_DecideAllowBasic buildgate::Decide( allow_basic" \
            "BM_DecideAllow/threads:1 buildgate::Decide( allow_full" \
            "BM_DecideAllowFresh buildgate::Decide( allow_full_fresh" \
            "BM_DecideDenyBasic buildgate::Decide( deny_basic" \
            "BM_DecideDenyWithRemediations buildgate::Decide( deny_full" \
            "BM_DecideDenyWithRemediationsFresh buildgate::Decide( deny_full_fresh" \
            "BM_DecisionLogLine buildgate::DecisionLog::AppendLine( decision_log_line"; do
  read -r bm fn label <<<"$spec"
  log "callgrind: $bm"
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$label" \
    "$build/bench/engine_bench" --benchmark_filter="^$bm\$" --benchmark_min_time="$callgrind_min" >/dev/null 2>&1
  python3 bench/callgrind_per_call.py "$work/callgrind.$label" "$fn" "$label" "$bm" >>"$out/instructions.jsonl"
done

# 2. Scenario corpus: policies for buildgated, one request frame per view for
# h2load (the same step asking for FULL or BASIC) and the size of
# buildgated's answer to each, which the echo server matches.
"$build/bench/load_client" --corpus=tests/cases --write_policy_dir="$work/policies" >/dev/null
declare -A response_bytes
for view in full basic; do
  "$build/bench/load_client" --corpus=tests/cases --write_frame="$work/frame.$view.bin" \
    --frame_scenario=ecr-buildah-region-setting.yaml --view=$view >"$work/frame.$view.json"
  response_bytes[$view]=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["response_bytes"])' \
    "$work/frame.$view.json")
done

read -r bg_pid bg_port bg_metrics_port < <(start_server "$build/service/buildgated" --listen=127.0.0.1:0 \
  --metrics_address=127.0.0.1:0 --decision_log="$work/decisions.log" --policy_dir="$work/policies")
pids+=("$bg_pid")
read -r echo_pid echo_port _ < <(start_server "$build/bench/echo_server" --listen=127.0.0.1:0 \
  --response_bytes="${response_bytes[full]}" --basic_response_bytes="${response_bytes[basic]}")
pids+=("$echo_pid")
log "buildgated on $bg_port (pid $bg_pid), echo on $echo_port (pid $echo_pid)," \
    "responses ${response_bytes[full]} bytes (FULL), ${response_bytes[basic]} (BASIC)"

# h2load: one run, its per-request log; prints a JSON summary line.
h2() {  # label port view clients streams [rps-per-client]
  local label=$1 port=$2 view=$3 c=$4 m=$5 rps=${6:-}
  local lat="$work/lat.$label.tsv"
  local args=(-D "$dur" --warm-up-time "$warm" -c "$c" -m "$m" -t 1
              -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/frame.$view.bin"
              --log-file="$lat")
  [ -n "$rps" ] && args+=(--rps="$rps")
  local text
  text=$(h2load "${args[@]}" "http://127.0.0.1:$port/buildgate.v1.BuildGateService/Decide" 2>&1) || true
  python3 bench/h2load_summary.py "$label" "$lat" "$c" "$m" "${rps:-0}" <<<"$text"
}

metric_errors() {  # port -> RPCs refused (status other than OK; CANCELLED is the client leaving)
  curl -s "http://127.0.0.1:$1/metrics" |
    awk '$1 ~ /^grpc_server_handled_total[{]/ && $1 !~ /grpc_code="(OK|CANCELLED)"/ {s += $2} END {print s+0}'
}
port_of() { [ "$1" = echo ] && echo "$echo_port" || echo "$bg_port"; }

# 3. Transport ceiling, per view: saturation (alternating rounds; the report
# takes the median), 1 in flight, then offered load as a fraction of the
# echo server's saturation (FULL: a sweep; BASIC: half).
: >"$out/transport.jsonl"
errors_before=$(metric_errors "$bg_metrics_port")
for r in $(seq 1 "$rounds"); do
  for view in full basic; do
    for label in echo buildgated; do
      log "$label $view: saturation, round $r"
      h2 "$label.$view.saturated.r$r" "$(port_of $label)" $view 8 32 >>"$out/transport.jsonl"
    done
  done
done
for view in full basic; do
  for label in echo buildgated; do
    log "$label $view: 1 in flight"
    h2 "$label.$view.one_in_flight" "$(port_of $label)" $view 1 1 >>"$out/transport.jsonl"
  done
done
echo_saturation() {  # view -> median echo req/s at saturation
  python3 -c 'import json,statistics,sys
print(int(statistics.median(json.loads(l)["rps"] for l in open(sys.argv[1])
                            if json.loads(l)["label"].startswith(f"echo.{sys.argv[2]}.saturated."))))' \
    "$out/transport.jsonl" "$1"
}
for view in full basic; do
  sat=$(echo_saturation $view)
  fractions=$([ "$view" = full ] && echo "$sweep" || echo 0.5)
  for f in $fractions; do
    rate=$(python3 -c "print(max(4, int($sat*$f)))")
    for label in echo buildgated; do
      log "$label $view: offered $rate req/s ($f of echo saturation)"
      h2 "$label.$view.offered.$f" "$(port_of $label)" $view 4 16 $((rate / 4)) >>"$out/transport.jsonl"
    done
  done
done
errors_after=$(metric_errors "$bg_metrics_port")

# grpc-status over the whole scenario corpus, with our own client.
log "scenario corpus through buildgated (grpc-status per call)"
"$build/bench/load_client" --corpus=tests/cases --target="127.0.0.1:$bg_port" --mode=closed \
  --inflight=8 --duration="$dur" --warmup="$warm" --label=corpus.buildgated >"$out/corpus_status.json"
"$build/bench/load_client" --corpus=tests/cases --target="127.0.0.1:$echo_port" --mode=closed \
  --inflight=8 --duration="$dur" --warmup="$warm" --label=corpus.echo >>"$out/corpus_status.json"
echo "{\"buildgated_rpc_errors_during_h2load\": $((errors_after - errors_before))}" >"$out/grpc_status.json"

# Cost per decision as the batch grows: the scenario corpus as Decide (batch
# 0) and as DecideBatch of 1, 10, 100 and 1000 steps, 8 calls in flight.
log "batch sizes"
: >"$out/batch.jsonl"
for view in basic full; do
  for n in 0 1 10 100 1000; do
    "$build/bench/load_client" --corpus=tests/cases --target="127.0.0.1:$bg_port" --mode=closed \
      --inflight=8 --duration="$dur" --warmup="$warm" --view=$view --batch=$n \
      --label="batch.$view.$n" >>"$out/batch.jsonl"
  done
done
kill -TERM "$echo_pid" "$bg_pid"; wait "$echo_pid" "$bg_pid" 2>/dev/null || true
pids=()

# 4. Peer engine: the same scenarios in Cedar.
log "Cedar comparison"
"$build/bench/scenario_export" --corpus=tests/cases --iterations=$([ "$smoke" = 1 ] && echo 20 || echo 2000) \
  >"$work/scenarios.json"
node_dir="$build/cedar-node"
mkdir -p "$node_dir"
cp bench/cedar/package.json bench/cedar/cedar_bench.js bench/cedar/builders.cedar "$node_dir/"
[ -d "$node_dir/node_modules/@cedar-policy/cedar-wasm" ] || \
  (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
node "$node_dir/cedar_bench.js" "$work/scenarios.json" "$cedar_iter" >"$out/cedar.json"

# 5. Footprint.
log "footprint: idle RSS, RSS with $prime cached inline sets"
read -r pid port _ < <(start_server "$build/service/buildgated" --listen=127.0.0.1:0 --metrics_address= \
  --decision_log= --cache_max_entries=$((prime * 2)))
pids+=("$pid")
sleep 0.5
idle=$(rss_kb "$pid")
idle_anon=$(anon_kb "$pid")
"$build/bench/load_client" --corpus=tests/cases --target="127.0.0.1:$port" --prime_inline="$prime" \
  --inflight=32 >"$work/prime.json"
primed=$(rss_kb "$pid")
# The same server, its cache holding all $prime sets: time per decision
# when calls cycle through 1, 1k or all of them (inline policies, BASIC).
log "cost as the cached sets in use grow"
: >"$out/sets.jsonl"
for n in $(printf '%s\n' 1 1000 "$prime" | sort -nu); do
  "$build/bench/load_client" --corpus=tests/cases --target="127.0.0.1:$port" --mode=closed \
    --inflight=8 --duration="$dur" --warmup="$warm" --view=basic --inline_sets="$n" \
    --label="sets.$n" >>"$out/sets.jsonl"
done
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
pids=()

startup() {  # dir -> ms from exec to SERVING (port file written once serving)
  local port_file="$work/startup.port"
  rm -f "$port_file"
  local t0 t1
  t0=$(date +%s%N)
  "$build/service/buildgated" --listen=127.0.0.1:0 --metrics_address= --decision_log= \
    --policy_dir="$1" --port_file="$port_file" >/dev/null 2>&1 &
  local p=$!
  while [ ! -s "$port_file" ]; do sleep 0.001; done
  t1=$(date +%s%N)
  kill -TERM "$p"; wait "$p" 2>/dev/null || true
  echo $(( (t1 - t0) / 1000000 ))
}
mkdir -p "$work/one" "$work/many"
cp "$work/policies/scenario-0.yaml" "$work/one/"
python3 - "$work/policies" "$work/many" "$many_files" <<'PY'
import os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(os.listdir(src))
for i in range(n):
    text = open(os.path.join(src, files[i % len(files)])).read()
    lines = [f"orgId: org-{i}" if l.startswith("orgId:") else l for l in text.splitlines()]
    open(os.path.join(dst, f"org-{i}.yaml"), "w").write("\n".join(lines) + "\n")
PY
log "footprint: time to SERVING with 1 and $many_files policy files"
start_one=$(startup "$work/one")
start_many=$(startup "$work/many")
cat >"$out/footprint.json" <<JSON
{"idle_rss_kb": $idle, "idle_anon_kb": $idle_anon,
 "primed_sets": $prime, "primed_rss_kb": $primed,
 "serving_ms_1_file": $start_one, "policy_files_many": $many_files, "serving_ms_many_files": $start_many}
JSON

# 6. Report and plot.
python3 bench/report.py "$out" $([ "$smoke" = 1 ] && echo --smoke)
if command -v gnuplot >/dev/null; then
  gnuplot -e "datafile='$out/latency.dat'; outfile='$out/latency.png'" bench/latency.gp
fi
if [ "$smoke" = 0 ]; then
  rm -f bench/results/latest
  ln -s "$(basename "$out")" bench/results/latest
fi
log "report: $out/report.md"
