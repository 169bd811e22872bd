#!/usr/bin/env bash
# The structure check (scripts/check_structure.py) on the real tree, and on
# a small tree with one violation of each rule, which it must name.
set -euo pipefail
source_root="$1"
check="$source_root/scripts/check_structure.py"

python3 "$check" "$source_root"

fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
mkdir -p "$fake"/{common,input,grammar,catalog,engine/internal,pipeline,lint,store,service,client,bench,tests/engine,tests/lint}
header() { printf '// %s\n#pragma once\n' "$1" >"$fake/$1"; }
for h in common/a.h input/a.h grammar/a.h engine/a.h engine/internal/tables.h pipeline/a.h lint/a.h \
         store/a.h client/a.h; do header "$h"; done
printf '#pragma once\n' >"$fake/service/no_comment.h"                       # rule 4
printf '#include "pipeline/a.h"\n' >"$fake/engine/upward.cc"               # rule 1: upward
printf '#include "client/a.h"\n' >"$fake/service/peer.cc"                  # rule 1: peers
printf '#include "engine/internal/tables.h"\n' >"$fake/lint/reach_in.cc"   # rule 2
printf '#include "engine/internal/tables.h"\n' >"$fake/tests/lint/t.cc"    # rule 2 (other tests)
printf '#include "engine/internal/tables.h"\n' >"$fake/tests/engine/t.cc"  # allowed
printf '#include "tests/testing/x.h"\n' >"$fake/common/uses_tests.cc"      # libraries never include tests/
printf '#include "grammar/a.h"\n#include "engine/a.h"\n' >"$fake/pipeline/fine.cc"  # allowed
for i in $(seq 1 200); do echo "int f$i();" >>"$fake/lint/big.cc"; done   # rule 3

set +e
output=$(python3 "$check" "$fake")
status=$?
set -e
echo "$output"
[ "$status" -eq 1 ] || { echo "FAIL: expected exit 1, got $status"; exit 1; }
expect() {
  grep -qF -- "$1" <<<"$output" || { echo "FAIL: no violation naming: $1"; exit 1; }
}
expect "service/no_comment.h:1: a library header opens with a comment"
expect "engine/upward.cc:1: includes pipeline/a.h: engine (layer 4) may include only lower layers"
expect "service/peer.cc:1: includes client/a.h: service (layer 8) may include only lower layers, not client"
expect "lint/reach_in.cc:1: includes engine/internal/tables.h: engine/internal/ is for engine/ and tests/engine/ only"
expect "tests/lint/t.cc:1: includes engine/internal/tables.h"
expect "common/uses_tests.cc:1: includes tests/testing/x.h: libraries never include tests/"
expect "lint/: "
count=$(grep -c ': includes \|opens with a comment\|source lines (' <<<"$output")
[ "$count" -eq 7 ] || { echo "FAIL: expected 7 violations, found $count"; exit 1; }
echo "PASS"
