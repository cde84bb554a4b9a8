#!/usr/bin/env bash
# The whole test suite: installs what it needs, then typecheck, lint, build, unit and
# integration tests (they start their own Orthanc processes on free ports) and browser tests
# (Debian's Chromium driven by playwright-core; screenshots in test-output/screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
# Node.js 22 LTS or later on PATH for everything below (installed from npm when the machine's is older).
. scripts/ensure-node.sh
scripts/ensure-deps.sh --browser
npm test
