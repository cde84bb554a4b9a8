#!/usr/bin/env bash
# Runs the unit tests on another Node.js release line (default: 24, the next LTS), in a scratch
# copy of the working tree so that this checkout's node_modules (built for its own Node) stay
# as they are. Usage: scripts/test-unit-on-node.sh [version], e.g. 24.22.3.
# Node itself comes from the npm registry (scripts/ensure-node.sh), nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version="${1:-24.22.3}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# The tracked files and the working tree's changes to them (not node_modules, .data, .tools).
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$scratch"/ 2>/dev/null || true
cd "$scratch"
# The Node install is kept in this checkout's .tools/, so a second run does not fetch it again.
BRIDGE_TOOLS_DIR="$root/.tools" BRIDGE_NODE_VERSION="$version" BRIDGE_NODE_FORCE=1 . scripts/ensure-node.sh
echo "test-unit-on-node: $(node -v), npm ci in a scratch copy" >&2
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >/dev/null
npx jest test/unit
