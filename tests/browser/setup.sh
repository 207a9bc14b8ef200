#!/usr/bin/env bash
# Installs what the browser harness needs: Debian's Chromium and the pinned npm
# packages. Idempotent: does nothing when both are already in place.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

if [ ! -x /usr/bin/chromium ]; then
  echo "setup.sh: installing chromium (apt)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup.sh: npm ci" >&2
  # --omit=optional: skips isomorphic-webcrypto's optional expo/react-native
  # tree (~340 MB) that nothing here uses (the app loads the prebuilt
  # browser bundle of fhirclient).
  npm ci --no-audit --no-fund --omit=optional
fi
