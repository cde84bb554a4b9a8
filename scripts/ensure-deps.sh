#!/usr/bin/env bash
# Installs what the demo and the tests need: Debian's Orthanc (with its Python plugin) and the
# npm packages. Safe to run again: it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/sbin/Orthanc ]; then
  echo "ensure-deps: installing Debian's orthanc and orthanc-python" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq orthanc orthanc-python >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: npm ci" >&2
  npm ci --no-audit --no-fund
fi
