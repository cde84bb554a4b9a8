#!/usr/bin/env bash
# The whole test suite: installs what it needs, then typecheck, lint, build, unit and
# integration tests (the integration tests start their own Orthanc processes on free ports).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
npm test
