# Sourced by the interop drivers: starts the real buildgated from BINARY_DIR
# on a free port (no metrics, no decision log), stops it on exit, and sets
# `pid` and `port`.
#   start_buildgated BINARY_DIR WORK_DIR
start_buildgated() {
  local bin="$1" work="$2"
  rm -f "$work/port"
  "$bin/service/buildgated" --listen=127.0.0.1:0 --metrics_address= --decision_log= \
    --port_file="$work/port" >"$work/buildgated.log" 2>&1 &
  pid=$!
  trap 'kill -TERM $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(head -1 "$work/port")
}

# Stops it and waits for a clean exit.
stop_buildgated() {
  kill -TERM "$pid"
  wait "$pid"
  trap - EXIT
}
