#!/usr/bin/env bash
# Fails when proto/ breaks the released contracts under buf.yaml's rules (FILE): a field,
# RPC, enum value or file that a client may use was removed, renumbered, renamed or retyped.
# New fields, RPCs, files and packages are not breaking.
#
# The baseline, contracts/released.binpb, is a buf image of proto/ as last released. It moves
# only on purpose (`make contracts-release`), so a break spread over several commits fails
# just as one in a single commit does.
#
# Usage: scripts/breaking.sh [workspace]   (default: this repository; tests pass a copy)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
workspace=${1:-$repo}
BUF=${BUF:-$repo/node_modules/.bin/buf}
BASELINE=${BASELINE:-$repo/contracts/released.binpb}

cd "$workspace"
# The module directory against the image: buf applies the module's rules from buf.yaml and
# resolves the vendored googleapis imports in both.
"$BUF" breaking proto --against "$BASELINE"
