#!/usr/bin/env bash
# SARIF check (run by ctest): `buildgate lint -o sarif` over the pipeline
# corpus under several policies, each output validated against the SARIF
# 2.1.0 schema with ajv (npm, installed into the build tree; the schema from
# @microsoft/jest-sarif's tarball, nothing else of that package is used).
#   run_sarif_validation.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src="$1"
bin="$2"
work="$bin/sarif"
. "$src/tests/testing/npm_workdir.sh"
npm_workdir "$work" "$src/tests/lint/package.json" "$src/tests/lint/validate_sarif.js"
schema="$work/sarif-2.1.0-rtm.5.json"
if [ ! -s "$schema" ]; then
  (cd "$work" && rm -f microsoft-jest-sarif-*.tgz && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null &&
   tar -xzf microsoft-jest-sarif-*.tgz -O package/lib/schemas/sarif-2.1.0-rtm.5.json > "$schema.tmp" &&
   mv "$schema.tmp" "$schema")
fi
docs="$src/tests/pipelines/documents"
# A path with a space, '#' and non-ASCII must still make a valid URI.
odd="$work/odd dir #1/Übersetzung"
mkdir -p "$odd"
cp "$docs/unicode-long-ids-expressions.yaml" "$docs/acme-ecr-build-and-push.yaml" "$odd/"
outputs=()
"$bin/client/buildgate" lint -o sarif --policy "$src/examples/policies/acme.yaml" "$odd" \
  > "$work/odd-paths.sarif" 2>/dev/null || true
outputs+=("$work/odd-paths.sarif")
for policy in "$src/examples/policies/acme.yaml" "$src/examples/policies/globex-openshift.yaml" \
              "$src/tests/pipelines/policies/brief-k8s-noroot.yaml"; do
  out="$work/$(basename "$policy" .yaml).sarif"
  # Exit codes 10/20 (findings) and 2 (the corpus's malformed files) are expected.
  "$bin/client/buildgate" lint -o sarif --policy "$policy" "$docs" > "$out" 2>/dev/null || true
  outputs+=("$out")
done
node "$work/validate_sarif.js" "$schema" "${outputs[@]}"
# The check can fail: a result with a level SARIF does not define is refused.
sed 's/"level": "warning"/"level": "severe"/' "${outputs[0]}" > "$work/broken.sarif"
if node "$work/validate_sarif.js" "$schema" "$work/broken.sarif" 2>/dev/null; then
  echo "the validator accepted a SARIF log with level \"severe\"" >&2
  exit 1
fi
