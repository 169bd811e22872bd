#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test
# (unit, corpus, property, CLI, benchmark smoke runs) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh RelWithDebInfo
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j "$(nproc)"
