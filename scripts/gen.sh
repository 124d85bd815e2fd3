#!/usr/bin/env bash
# Regenerates gen/ from proto/: Python messages, type stubs and grpc.aio
# stubs (grpcio-tools), plus the descriptor set Envoy's transcoder reads (buf).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BUF=${BUF:-node_modules/.bin/buf}

OUT=${GEN_OUT:-gen}

# Build beside the target and swap it in, so running processes never see a half-written gen/.
mkdir -p "$OUT"
work=$(mktemp -d "$OUT/.gen.XXXXXX")
trap 'rm -rf "$work"' EXIT
mapfile -t protos < <(cd proto && find agentic -name '*.proto' | sort)
"$PY" -m grpc_tools.protoc -I proto -I third_party/googleapis \
  --python_out="$work" --pyi_out="$work" --grpc_python_out="$work" "${protos[@]/#/proto/}"
# protoc writes no packages; make every generated directory importable.
find "$work/agentic" -type d -exec touch {}/__init__.py \;
"$BUF" build -o "$work/descriptor.binpb"
rm -rf "$OUT/agentic.old"
if [ -d "$OUT/agentic" ]; then mv "$OUT/agentic" "$OUT/agentic.old"; fi
mv "$work/agentic" "$OUT/agentic"
mv "$work/descriptor.binpb" "$OUT/descriptor.binpb"
rm -rf "$OUT/agentic.old"
echo "gen: ${#protos[@]} proto files -> $OUT/agentic, $OUT/descriptor.binpb"
