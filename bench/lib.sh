# Shared by the bench scripts (sourced, after `cd` to the repository root):
# a scratch directory $work removed at exit, and the servers whose PIDs are
# in $pids stopped (SIGTERM) and waited for at exit.
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits up to 10 s for FILE to exist and be non-empty (a server's
# --port_file); false if it never does.
wait_for_file() {
  for _ in $(seq 1 2000); do [ -s "$1" ] && return 0; sleep 0.005; done
  return 1
}
