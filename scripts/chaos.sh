#!/usr/bin/env bash
# Kill/outage scenario on a local Orthanc pair; bounded by --deadline-seconds (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
# Node.js 22 LTS or later on PATH for everything below (installed from npm when the machine's is older).
. scripts/ensure-node.sh
scripts/ensure-deps.sh
npm run -s build
exec npx ts-node --transpile-only scripts/chaos.ts "$@"
