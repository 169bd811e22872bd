#!/usr/bin/env bash
# The run command: installs what is missing, builds, and starts buildgated in
# the foreground on the embedded example policies, listening on localhost:
#   gRPC     127.0.0.1:50051
#   metrics  http://127.0.0.1:9464/metrics
# It says what it is doing at each step (a first build takes minutes), then
# prints the addresses, the stored orgs, where the logs go and how to stop.
# Extra arguments go to buildgated (e.g. --policy_dir=examples/policies or
# --listen=0.0.0.0:50051; they replace the defaults above).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build}"

say() { printf '\n== run: %s\n' "$*" >&2; }

say "1/3 checking the Debian packages buildgate needs (scripts/install-deps.sh)"
scripts/install-deps.sh >&2
say "2/3 configuring and building (Release, $(nproc) cores, into $build/; a first build takes several minutes)"
BUILD_DIR="$build" scripts/build.sh Release >&2

# Defaults, unless the caller names the same flag.
args=()
has_flag() { local f; for f in "${@:2}"; do case "$f" in "$1"|"$1"=*) return 0 ;; esac; done; return 1; }
has_flag --listen "$@" || args+=(--listen=127.0.0.1:50051)
has_flag --metrics_address "$@" || args+=(--metrics_address=127.0.0.1:9464)
port_file="$(mktemp -t buildgated-ports.XXXXXX)"
args+=(--port_file="$port_file")

say "3/3 starting buildgated"
"$build/service/buildgated" "${args[@]}" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
for _ in $(seq 1 100); do
  [ -s "$port_file" ] && break
  kill -0 "$pid" 2>/dev/null || { wait "$pid" || status=$?; echo "run: buildgated did not start (exit ${status:-0}); its error is above" >&2; exit "${status:-1}"; }
  sleep 0.1
done
{ read -r grpc_port; read -r metrics_port; } < "$port_file"
rm -f "$port_file"
cli="$build/client/buildgate"
{
  echo
  echo "buildgated is serving (pid $pid):"
  echo "  gRPC     127.0.0.1:$grpc_port"
  [ "$metrics_port" != "0" ] && echo "  metrics  http://127.0.0.1:$metrics_port/metrics"
  echo "  logs     stderr (JSON lines; --log_format=text for people); decision log on stdout"
  echo "stored policy sets:"
  "$cli" list --server "127.0.0.1:$grpc_port" | sed 's/^/  /' || true
  echo "try:"
  echo "  $cli decide --server 127.0.0.1:$grpc_port --org acme --step examples/steps/build-and-push-ecr.yaml"
  echo "  (exit code 10 means 'allow with changes'; 0 allow, 20 deny)"
  echo "stop: Ctrl-C here, or kill $pid (it drains in-flight calls, then exits 0)"
  echo
} >&2
wait "$pid"
