#!/usr/bin/env bash
# Static checks CI runs before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
BUF=node_modules/.bin/buf

step() { printf '\n== %s\n' "$*"; }

step "ruff"
"$VENV/bin/ruff" check services tests bench
"$VENV/bin/ruff" format --check services tests bench

step "mypy"
"$VENV/bin/mypy" services bench

step "import rules (layers never import each other)"
"$VENV/bin/lint-imports"

step "buf lint"
"$BUF" lint

step "buf breaking against the released contracts (contracts/released.binpb)"
BUF="$BUF" scripts/breaking.sh
echo "no breaking change"

step "gen/ is up to date with proto/"
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
GEN_OUT="$fresh" scripts/gen.sh >/dev/null
if ! diff -r -q -x __pycache__ "$fresh" gen; then
  echo "gen/ is stale: run 'make gen' and commit the result" >&2
  exit 1
fi
echo "gen/ matches proto/"

step "gateway/envoy.yaml is up to date with gen/descriptor.binpb"
"$VENV/bin/python" -m services.l09_gateway.render --check

step "compose.yml and consul/ are up to date with services/kit/layers.py and gateway/envoy.yaml"
"$VENV/bin/python" -m services.launcher.deployment --check
