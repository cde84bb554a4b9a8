#!/usr/bin/env bash
# The main job on one machine: a local clinical + research Orthanc pair, a synthetic sample study
# with identifying values planted everywhere, and the bridge carrying it across.
#
# Settings (environment): ORTHANC_CLINICAL_PORT (8042), ORTHANC_RESEARCH_PORT (8043),
# ORTHANC_CLINICAL_DICOM_PORT (4242), ORTHANC_RESEARCH_DICOM_PORT (4243), DEMO_PATIENTS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Node.js 22 LTS or later on PATH for everything below (installed from npm when the machine's is older).
. scripts/ensure-node.sh
scripts/ensure-deps.sh
npm run -s build

demo="$root/.data/demo"
export ORTHANC_DATA_DIR="$demo/orthanc"
export ORTHANC_STABLE_AGE=${ORTHANC_STABLE_AGE:-3}
clinical="http://127.0.0.1:${ORTHANC_CLINICAL_PORT:-8042}"
research="http://127.0.0.1:${ORTHANC_RESEARCH_PORT:-8043}"

# A clean demo every time: its Orthanc pair, state and secret live only under .data/demo.
scripts/orthanc.sh stop >/dev/null 2>&1 || true
rm -rf "$demo"
mkdir -p "$demo"
random_file() { # path: 32 random bytes as hex, readable by this user only
  node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("hex"))' >"$1"
  chmod 600 "$1"
}
if [ -z "${BRIDGE_SECRET:-}" ] && [ -z "${BRIDGE_SECRET_FILE:-}" ]; then
  export BRIDGE_SECRET_FILE="$demo/secret"
  random_file "$BRIDGE_SECRET_FILE"
  echo "demo: created a demo secret in $BRIDGE_SECRET_FILE (a real deployment keeps its own, outside the repository)"
fi
# API tokens: the operator token is also what the Explorer button's plugin uses.
export BRIDGE_API_TOKEN_FILE="$demo/operator-token" BRIDGE_ADMIN_TOKEN_FILE="$demo/admin-token"
random_file "$BRIDGE_API_TOKEN_FILE"
random_file "$BRIDGE_ADMIN_TOKEN_FILE"
RESEARCH_BRIDGE_TOKEN=$(cat "$BRIDGE_API_TOKEN_FILE") scripts/orthanc.sh start
export BRIDGE_SOURCE_URL="$clinical" BRIDGE_RESEARCH_URL="$research" BRIDGE_DATA_DIR="$demo/bridge"
# The Orthanc pair requires authentication: the account scripts/orthanc.sh registered.
export ORTHANC_USER=${ORTHANC_USER:-bridge} ORTHANC_PASSWORD_FILE="$ORTHANC_DATA_DIR/orthanc-password"
export BRIDGE_SOURCE_USERNAME=$ORTHANC_USER BRIDGE_SOURCE_PASSWORD_FILE=$ORTHANC_PASSWORD_FILE
export BRIDGE_RESEARCH_USERNAME=$ORTHANC_USER BRIDGE_RESEARCH_PASSWORD_FILE=$ORTHANC_PASSWORD_FILE

npx ts-node --transpile-only scripts/make-sample-study.ts --patients "${DEMO_PATIENTS:-2}" \
  --ct-slices 20 --size 256 --mammo-rows 512 --mammo-columns 416 --upload "$clinical"

echo "demo: waiting for the clinical Orthanc to call the studies stable (StableAge ${ORTHANC_STABLE_AGE} s)"
node -e '
  const url = process.argv[1];
  const auth = "Basic " + Buffer.from(process.argv[2] + ":" + require("fs").readFileSync(process.argv[3], "utf8").trim()).toString("base64");
  const deadline = Date.now() + 120000;
  const get = (p) => fetch(url + p, { headers: { Authorization: auth } }).then((r) => r.json());
  (async () => {
    for (;;) {
      const studies = await get("/studies?expand");
      if (studies.length > 0 && studies.every((s) => s.IsStable)) return;
      if (Date.now() > deadline) { console.error("demo: studies did not become stable in time"); process.exit(1); }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
' "$clinical" "$ORTHANC_USER" "$ORTHANC_PASSWORD_FILE"

cat >"$demo/env" <<ENV
export BRIDGE_SOURCE_URL=$BRIDGE_SOURCE_URL BRIDGE_RESEARCH_URL=$BRIDGE_RESEARCH_URL BRIDGE_DATA_DIR=$BRIDGE_DATA_DIR
export BRIDGE_SECRET_FILE=${BRIDGE_SECRET_FILE:-} BRIDGE_API_TOKEN_FILE=$BRIDGE_API_TOKEN_FILE BRIDGE_ADMIN_TOKEN_FILE=$BRIDGE_ADMIN_TOKEN_FILE
export BRIDGE_API_PORT=${BRIDGE_API_PORT:-8099}
export BRIDGE_SOURCE_USERNAME=$ORTHANC_USER BRIDGE_SOURCE_PASSWORD_FILE=$ORTHANC_PASSWORD_FILE
export BRIDGE_RESEARCH_USERNAME=$ORTHANC_USER BRIDGE_RESEARCH_PASSWORD_FILE=$ORTHANC_PASSWORD_FILE
ENV

MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=50 dist/cli.js run --once
node dist/cli.js status

# The first-run checks, with the daemon up (the Explorer plugin must reach its API with its token).
node dist/cli.js run >"$demo/daemon.log" 2>&1 &
daemon=$!
node -e '
  const url = process.argv[1];
  const deadline = Date.now() + 60000;
  (async () => {
    while (!(await fetch(url).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) { console.error("demo: the bridge daemon did not start, see daemon.log"); process.exit(1); }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
' "http://127.0.0.1:${BRIDGE_API_PORT:-8099}/healthz"
doctor_status=0
node dist/cli.js doctor || doctor_status=$?
kill -TERM "$daemon" && wait "$daemon" || true
if [ "$doctor_status" != 0 ]; then echo "demo: bridge doctor found problems (above)" >&2; exit 1; fi

api_port=${BRIDGE_API_PORT:-8099}
cat <<TXT

demo: done. Where to look:
  Orthanc account (both servers):       user $ORTHANC_USER, password in $ORTHANC_PASSWORD_FILE
  clinical Orthanc (originals):         $clinical/app/explorer.html
  research Orthanc (de-identified):     $research/app/explorer.html
  bridge state, reports, logs:          $BRIDGE_DATA_DIR (bridge.sqlite, reports/, exports/, logs/bridge.log)
  the same settings for more commands:  source .data/demo/env
  audit report, metadata export:        node dist/cli.js report --format csv; node dist/cli.js export-metadata --format csv
  run the daemon (admin page, Explorer "Send to research" button):
                                        node dist/cli.js run
                                        then http://127.0.0.1:$api_port/admin (user: admin, password: contents of $BRIDGE_ADMIN_TOKEN_FILE)
  stop the Orthanc pair:                ORTHANC_DATA_DIR=$ORTHANC_DATA_DIR scripts/orthanc.sh stop
TXT
