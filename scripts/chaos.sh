#!/usr/bin/env bash
# Kill/outage scenario on a local Orthanc pair; bounded by --deadline-seconds (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
npm run -s build
exec npx ts-node --transpile-only scripts/chaos.ts "$@"
