#!/usr/bin/env bash
# Proves bench/callgrind_per_call.py counts a function's own calls and
# inclusive cost: a lambda inside it (named "f(...)::{lambda...}") and a
# function whose name only starts alike are not counted as it, and a cost
# from two call sites is summed. The profile below is callgrind's format:
# "calls=N target" then "position inclusive-cost" after each cfn= line.
set -euo pipefail
script="$(dirname "$0")/../../bench/callgrind_per_call.py"
profile=$(mktemp)
trap 'rm -f "$profile"' EXIT
cat >"$profile" <<'PROFILE'
events: Ir
fn=(1) main
cfn=(2) buildgate::Decide(buildgate::CompiledPolicySet const&)
calls=3 0
1 3000
cfn=(3) buildgate::Decide(buildgate::CompiledPolicySet const&)::{lambda(int)#1}::operator()(int) const
calls=30 0
1 900
cfn=(4) buildgate::DecideBatch(int)
calls=1 0
1 50000
fn=(5) other
cfn=(2)
calls=1 0
1 1000
fn=(2)
cfn=(3)
calls=10 0
1 300
summary: 55000
PROFILE
got=$(python3 "$script" "$profile" "buildgate::Decide(" decide)
want='{"label": "decide", "function": "buildgate::Decide(", "calls": 4, "instructions_per_call": 1000}'
if [ "$got" != "$want" ]; then
  echo "got:  $got" >&2
  echo "want: $want" >&2
  exit 1
fi
# The benchmark profiled, when named, comes with the count.
got=$(python3 "$script" "$profile" "buildgate::Decide(" decide BM_DecideAllowBasic)
want='{"label": "decide", "function": "buildgate::Decide(", "calls": 4, "instructions_per_call": 1000, "benchmark": "BM_DecideAllowBasic"}'
if [ "$got" != "$want" ]; then
  echo "got:  $got" >&2
  echo "want: $want" >&2
  exit 1
fi
if python3 "$script" "$profile" "buildgate::Absent(" absent 2>/dev/null; then
  echo "a function that is not in the profile must fail" >&2
  exit 1
fi
echo "callgrind_per_call: ok"
