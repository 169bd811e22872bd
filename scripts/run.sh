#!/usr/bin/env bash
# The run command: installs what is missing, builds, and starts buildgated in
# the foreground on the embedded example policies, listening on localhost.
#   gRPC     127.0.0.1:50051   (try: build/client/buildgate health --server 127.0.0.1:50051)
#   metrics  http://127.0.0.1:9464/metrics
# Extra arguments go to buildgated (e.g. --policy_dir=examples/policies).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh Release >/dev/null  # The build the tests, benchmarks and image use.
echo "buildgated: serving the embedded example policies on 127.0.0.1:50051 (Ctrl-C to stop)" >&2
echo "  try: build/client/buildgate decide --server 127.0.0.1:50051 --org acme --step examples/steps/build-and-push-ecr.yaml" >&2
exec "${BUILD_DIR:-build}/service/buildgated" --listen=127.0.0.1:50051 "$@"
