#!/usr/bin/env bash
# Installs what the demo and the tests need: Debian's Orthanc (with its Python plugin) and the
# npm packages. Safe to run again: it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# A supported Node.js first (22 LTS or later): npm ci builds native addons for it.
. scripts/ensure-node.sh

# Debian packages: Orthanc and its Python plugin always; Chromium and the real-world DICOM corpora
# only for the tests (`scripts/ensure-deps.sh --browser`).
packages=()
[ -x /usr/sbin/Orthanc ] || packages+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancPython.so ] || packages+=(orthanc-python)
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then packages+=(chromium); fi
# Real-world DICOM files for the tests, read by Debian's own python3 (test/helpers/describe_dicom.py).
if [ "${1:-}" = "--browser" ] && [ ! -d /usr/lib/python3/dist-packages/pydicom/data/test_files ]; then packages+=(python3-pydicom); fi
if [ "${1:-}" = "--browser" ] && [ ! -d /usr/lib/python3/dist-packages/nibabel/nicom/tests/data ]; then packages+=(python3-nibabel); fi
if [ "${1:-}" = "--browser" ] && [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then packages+=(fonts-dejavu-core); fi
if [ "${1:-}" = "--browser" ] && ! command -v openssl >/dev/null; then packages+=(openssl); fi # TLS tests make certificates
# Replicas share their state in PostgreSQL: the tests start their own PostgreSQL 15 server, and one
# runs the clinical Orthanc with its index in PostgreSQL (Debian's orthanc-postgresql).
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then packages+=(postgresql-15); fi
if [ "${1:-}" = "--browser" ] && [ ! -e /usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so ]; then packages+=(orthanc-postgresql); fi
# A DICOMweb destination in the tests: Orthanc with Debian's DICOMweb plugin (STOW-RS, WADO-RS, QIDO-RS).
if [ "${1:-}" = "--browser" ] && [ ! -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]; then packages+=(orthanc-dicomweb); fi
# DICOM C-STORE destinations: dcmtk's storescu/findscu/echoscu (and storescp as a peer in the tests).
if [ "${1:-}" = "--browser" ] && ! command -v storescu >/dev/null; then packages+=(dcmtk); fi
# dicom3tools' dciodvfy validates each research copy against its original (the IOD check, issue 28).
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/dciodvfy ]; then packages+=(dicom3tools); fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "ensure-deps: installing Debian's ${packages[*]}" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# Native addons are built for one Node.js ABI: a node_modules built by another Node is rebuilt.
abi="$(node -p 'process.versions.modules')"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  [ "$(cat node_modules/.bridge-node-abi 2>/dev/null)" != "$abi" ]; then
  echo "ensure-deps: npm ci (Node.js $(node -v))" >&2
  # onnxruntime-node ships its CPU binary; its install script (npm < 11 runs it) would fetch GPU files.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
  echo "$abi" >node_modules/.bridge-node-abi
fi
