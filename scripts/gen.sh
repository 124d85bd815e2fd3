#!/usr/bin/env bash
# Regenerates gen/ from proto/: Python messages, type stubs and grpc.aio
# stubs (grpcio-tools), plus the descriptor set Envoy's transcoder reads (buf).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BUF=${BUF:-node_modules/.bin/buf}

OUT=${GEN_OUT:-gen}

rm -rf "$OUT/agentic"
mkdir -p "$OUT"
mapfile -t protos < <(cd proto && find agentic -name '*.proto' | sort)
"$PY" -m grpc_tools.protoc -I proto -I third_party/googleapis \
  --python_out="$OUT" --pyi_out="$OUT" --grpc_python_out="$OUT" "${protos[@]/#/proto/}"
# protoc writes no packages; make every generated directory importable.
find "$OUT/agentic" -type d -exec touch {}/__init__.py \;
"$BUF" build -o "$OUT/descriptor.binpb"
echo "gen: ${#protos[@]} proto files -> $OUT/agentic, $OUT/descriptor.binpb"
