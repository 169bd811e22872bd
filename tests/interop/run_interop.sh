#!/usr/bin/env bash
# Interop test driver (run by ctest): installs @grpc/grpc-js,
# @grpc/proto-loader and protobufjs from npm into the build tree, starts the real
# buildgated on a free port, runs interop_test.js against it, stops it.
#   run_interop.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src="$1"
bin="$2"
work="$bin/interop"
. "$src/tests/testing/npm_workdir.sh"
npm_workdir "$work" "$src/tests/interop/package.json" "$src/tests/interop/interop_test.js" \
  "$src/tests/interop/reflection.proto"
. "$src/tests/interop/start_buildgated.sh"
start_buildgated "$bin" "$work"
node "$work/interop_test.js" "127.0.0.1:$port" "$src/proto"
stop_buildgated
