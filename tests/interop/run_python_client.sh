#!/usr/bin/env bash
# Interop with Python (run by ctest): generates the buildgate stubs with
# Debian's protoc and gRPC Python plugin, starts the real buildgated on a
# free port and runs examples/python/decide.py (Debian's python3-grpcio)
# against it, checking the decision and the BadRequest details it prints.
#   run_python_client.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src="$1"
bin="$2"
work="$bin/python"
python=/usr/bin/python3  # Debian's, with python3-grpcio (not a pyenv or venv one).
rm -rf "$work" && mkdir -p "$work/out"
protoc -I "$src/proto" --python_out="$work/out" --grpc_python_out="$work/out" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  "$src"/proto/buildgate/v1/*.proto "$src"/proto/google/rpc/*.proto
. "$src/tests/interop/start_buildgated.sh"
start_buildgated "$bin" "$work"
PYTHONPATH="$work/out" "$python" "$src/examples/python/decide.py" "127.0.0.1:$port" | tee "$work/output.txt"
grep -q "VERDICT_ALLOW_WITH_CHANGES, builder BUILDER_BUILDAH" "$work/output.txt"
grep -q "refused: INVALID_ARGUMENT: step.kind: required" "$work/output.txt"
grep -q "  field step.kind: required" "$work/output.txt"
stop_buildgated
echo "python client: ok"
