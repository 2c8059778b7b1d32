#!/usr/bin/env bash
# One set-up for `npm start` and `npm test`: dependencies, Temporal binaries, and (for tests) the system tools
# the real consumers need. Idempotent and quick when everything is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
log() { echo "[setup] $*" >&2; }

# npm dependencies: install when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

scripts/install-temporal.sh

if [ "${1:-}" = "--test" ]; then
  missing=()
  command -v pk12util >/dev/null 2>&1 || missing+=(libnss3-tools)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  # A Japanese font, so the browser tests' screenshots show the pages' text rather than boxes.
  [ -n "$(fc-list :lang=ja 2>/dev/null)" ] || missing+=(fonts-ipafont-gothic)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing Debian packages: ${missing[*]}"
      apt-get update -qq >&2 || log "apt-get update failed; trying the install anyway"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    else
      log "FAILED: the tests need Debian packages ${missing[*]}; install them (apt-get install ${missing[*]}) and run again"
      exit 1
    fi
  fi
fi
