#!/usr/bin/env bash
# Interop test driver (run by ctest): installs @grpc/grpc-js,
# @grpc/proto-loader and protobufjs from npm into the build tree, starts the real
# buildgated on a free port, runs interop_test.js against it, stops it.
#   run_interop.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src="$1"
bin="$2"
work="$bin/interop"
mkdir -p "$work"
cp "$src/tests/interop/package.json" "$src/tests/interop/interop_test.js" "$src/tests/interop/reflection.proto" "$work/"
if [ ! -d "$work/node_modules/@grpc/grpc-js" ] || [ ! -d "$work/node_modules/@grpc/proto-loader" ] ||
   [ ! -d "$work/node_modules/protobufjs" ]; then
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
. "$src/tests/interop/start_buildgated.sh"
start_buildgated "$bin" "$work"
node "$work/interop_test.js" "127.0.0.1:$port" "$src/proto"
stop_buildgated
