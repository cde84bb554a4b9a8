#!/usr/bin/env bash
# Starts, stops or reports a local clinical + research Orthanc pair on 127.0.0.1, from Debian's
# orthanc package (installed with apt-get when missing).
#
#   scripts/orthanc.sh start|stop|status
#
# Settings (environment):
#   ORTHANC_DATA_DIR        storage, configs, logs and pids   (default: .data/orthanc)
#   ORTHANC_CLINICAL_PORT   clinical HTTP port                (default: 8042)
#   ORTHANC_RESEARCH_PORT   research HTTP port                (default: 8043)
#   ORTHANC_CLINICAL_DICOM_PORT / ORTHANC_RESEARCH_DICOM_PORT (default: 4242 / 4243)
#   ORTHANC_STABLE_AGE      seconds before a study is stable  (default: 60)
#   BRIDGE_API_PORT         where the Explorer button finds the bridge (default: 8099)
#   RESEARCH_BRIDGE_TOKEN   the bridge operator token the Explorer button uses (passed to Orthanc)
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_DIR=$(realpath -m "${ORTHANC_DATA_DIR:-.data/orthanc}")
CLINICAL_PORT=${ORTHANC_CLINICAL_PORT:-8042}
RESEARCH_PORT=${ORTHANC_RESEARCH_PORT:-8043}
CLINICAL_DICOM=${ORTHANC_CLINICAL_DICOM_PORT:-4242}
RESEARCH_DICOM=${ORTHANC_RESEARCH_DICOM_PORT:-4243}
STABLE_AGE=${ORTHANC_STABLE_AGE:-60}
# Both servers require HTTP authentication (the shipped configs set AuthenticationEnabled). This
# script registers one account, ORTHANC_USER, whose password it keeps in $DATA_DIR/orthanc-password
# (created once, readable by this user only); the bridge uses it through BRIDGE_*_PASSWORD_FILE.
ORTHANC_USER=${ORTHANC_USER:-bridge}
PASSWORD_FILE="$DATA_DIR/orthanc-password"

ensure_password() {
  mkdir -p "$DATA_DIR"
  if [ -s "$PASSWORD_FILE" ]; then return; fi
  (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))' >"$PASSWORD_FILE")
}

ensure_orthanc() {
  if [ -x /usr/sbin/Orthanc ]; then return; fi
  echo "orthanc.sh: installing Debian's orthanc package" >&2
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq orthanc orthanc-python >/dev/null
}

# Writes the runtime config: the committed template with this run's ports and folders.
write_config() { # name port dicomPort
  local name=$1 port=$2 dicom=$3
  mkdir -p "$DATA_DIR/$name"
  node -e '
    const fs = require("fs");
    const [template, out, dir, port, dicom, stable, user, passwordFile] = process.argv.slice(1);
    const c = JSON.parse(fs.readFileSync(template, "utf8"));
    Object.assign(c, { HttpPort: +port, DicomPort: +dicom, StorageDirectory: dir, IndexDirectory: dir, StableAge: +stable });
    c.RegisteredUsers = { ...(c.RegisteredUsers || {}), [user]: fs.readFileSync(passwordFile, "utf8").trim() };
    if (c.PythonScript) c.PythonScript = require("path").resolve(c.PythonScript);
    if (c.ResearchBridge && process.env.BRIDGE_API_PORT) c.ResearchBridge.Url = "http://127.0.0.1:" + process.env.BRIDGE_API_PORT;
    fs.writeFileSync(out, JSON.stringify(c, null, 2), { mode: 0o600 });
  ' "orthanc/$name.json" "$DATA_DIR/$name.json" "$DATA_DIR/$name" "$port" "$dicom" "$STABLE_AGE" "$ORTHANC_USER" "$PASSWORD_FILE"
}

wait_up() { # port
  for _ in $(seq 1 60); do
    if node -e '
      const auth = process.argv[2] + ":" + require("fs").readFileSync(process.argv[3], "utf8").trim();
      require("http").get("http://127.0.0.1:" + process.argv[1] + "/system", { auth }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on("error", () => process.exit(1));
    ' "$1" "$ORTHANC_USER" "$PASSWORD_FILE"; then return 0; fi
    sleep 0.5
  done
  return 1
}

is_running() { # name
  local pidfile="$DATA_DIR/$1.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start_one() { # name port dicomPort
  local name=$1 port=$2 dicom=$3
  if is_running "$name"; then echo "orthanc.sh: $name already running (pid $(cat "$DATA_DIR/$name.pid"))"; return; fi
  write_config "$name" "$port" "$dicom"
  nohup /usr/sbin/Orthanc "$DATA_DIR/$name.json" >"$DATA_DIR/$name.log" 2>&1 &
  echo $! >"$DATA_DIR/$name.pid"
  if wait_up "$port"; then
    echo "orthanc.sh: $name Orthanc on http://127.0.0.1:$port (pid $(cat "$DATA_DIR/$name.pid"), data $DATA_DIR/$name; user $ORTHANC_USER, password in $PASSWORD_FILE)"
  else
    echo "orthanc.sh: $name Orthanc did not come up on port $port; see $DATA_DIR/$name.log" >&2
    tail -n 20 "$DATA_DIR/$name.log" >&2 || true
    exit 1
  fi
}

stop_one() { # name
  local pidfile="$DATA_DIR/$1.pid"
  if ! is_running "$1"; then rm -f "$pidfile"; echo "orthanc.sh: $1 not running"; return; fi
  local pid; pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "orthanc.sh: $1 stopped"
}

case "${1:-}" in
  start)
    ensure_orthanc
    mkdir -p "$DATA_DIR"
    ensure_password
    start_one clinical "$CLINICAL_PORT" "$CLINICAL_DICOM"
    start_one research "$RESEARCH_PORT" "$RESEARCH_DICOM"
    ;;
  stop)
    stop_one clinical
    stop_one research
    ;;
  status)
    for n in clinical research; do
      if is_running "$n"; then echo "$n: running (pid $(cat "$DATA_DIR/$n.pid"))"; else echo "$n: stopped"; fi
    done
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
