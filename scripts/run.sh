#!/usr/bin/env bash
# The run command: installs what is missing, builds, and decides every
# example step under every shipped example policy with the offline CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh RelWithDebInfo >/dev/null
bin="${BUILD_DIR:-build}/client/buildgate"
for policy in examples/policies/*; do
  "$bin" validate --policy "$policy"
done
for step in examples/steps/*.yaml; do
  echo "=== $step under examples/policies/acme.yaml"
  "$bin" decide --policy examples/policies/acme.yaml --step "$step" || true
done
