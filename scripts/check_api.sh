#!/usr/bin/env bash
# API hygiene, run by ctest (test api.buf): `buf lint` (STANDARD rules, with
# the exceptions and their reasons in proto/buf.yaml) and `buf breaking`
# (FILE rules) against the previous commit's protos. @bufbuild/buf comes from
# npm, installed into the build tree.
#   check_api.sh SOURCE_DIR BINARY_DIR
# "Previous" is HEAD when proto/ has uncommitted changes, else HEAD~1. A
# commit that breaks the API on purpose says "API-BREAK:" in its message;
# its breakages are then printed but do not fail the check.
set -euo pipefail
src="$1"
bin="$2"
work="$bin/buf"
mkdir -p "$work"
if [ ! -x "$work/node_modules/.bin/buf" ]; then
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error @bufbuild/buf@1 >/dev/null)
fi
buf="$work/node_modules/.bin/buf"
cd "$src"
echo "buf $("$buf" --version): lint proto/"
"$buf" lint proto
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "buf breaking: skipped (not a git checkout, nothing to compare with)"
  exit 0
fi
if ! git diff --quiet HEAD -- proto; then
  against=HEAD
elif git rev-parse --verify -q HEAD~1 >/dev/null; then
  against=HEAD~1
else
  echo "buf breaking: skipped (no previous commit)"
  exit 0
fi
echo "buf breaking: proto/ against $against ($(git rev-parse --short "$against"))"
if ! "$buf" breaking proto --against ".git#ref=$against,subdir=proto"; then
  if [ "$against" = HEAD~1 ] && git log -1 --format=%B HEAD | grep -q "API-BREAK:"; then
    echo "buf breaking: the breakages above are declared by HEAD's API-BREAK: line"
    exit 0
  fi
  echo "buf breaking: the API changed incompatibly (see above); if on purpose, say why in an API-BREAK: line of the commit message" >&2
  exit 1
fi
