#!/usr/bin/env bash
# One set-up for `npm start`, `npm test` (--test) and `npm run start:cluster` (--cluster): dependencies, Temporal
# binaries, and the system tools the real consumers need. Idempotent and quick when everything is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
log() { echo "[setup] $*" >&2; }

# npm dependencies: install when node_modules is missing or older than the lock file.
# A node_modules that is a symlink belongs to another checkout (a git worktree sharing it): npm ci through it would empty
# that checkout's folder, so it is left to its owner.
if [ -L node_modules ]; then
  [ package-lock.json -nt node_modules/.package-lock.json ] && log "node_modules is a symlink to another checkout: not installing (run npm ci there)"
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # The first install compiles native modules (argon2, better-sqlite3) and can take several minutes: say that it is
  # still going, so a quiet terminal does not read as a hang.
  log "installing npm dependencies (npm ci; the first time takes a few minutes)"
  started=$SECONDS
  ( while sleep 20; do log "  … still installing npm dependencies ($((SECONDS - started)) s)"; done ) &
  ticker=$!
  trap 'kill $ticker 2>/dev/null || true' EXIT
  npm ci --no-audit --no-fund --loglevel=error
  kill $ticker 2>/dev/null || true
  trap - EXIT
  log "npm dependencies installed in $((SECONDS - started)) s"
fi

scripts/install-temporal.sh

# Installs the Debian packages named, as root with apt-get; otherwise stops naming them.
apt_install() { # <what needs them> <package>...
  local what="$1"; shift
  [ $# -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: $*"
    apt-get update -qq >&2 || log "apt-get update failed; trying the install anyway"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
  else
    log "FAILED: $what need(s) Debian packages $*; install them (apt-get install $*) and run again"
    exit 1
  fi
}

has_postgres() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

if [ "${1:-}" = "--test" ]; then
  missing=()
  command -v pk12util >/dev/null 2>&1 || missing+=(libnss3-tools)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  # The OCSP responder's consumer test: nginx verifying client certificates with ssl_ocsp (no stream module needed).
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  has_postgres || missing+=(postgresql)
  # CA keys behind PKCS#11 (test/pki/hsm.test.ts, bench:pki): SoftHSM2's module and softhsm2-util to make a token.
  [ -f /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
  # A Japanese font, so the browser tests' screenshots show the pages' text rather than boxes.
  [ -n "$(fc-list :lang=ja 2>/dev/null)" ] || missing+=(fonts-ipafont-gothic)
  # Python with venv for schemathesis, the API fuzzer (test/api/fuzz.test.ts).
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  apt_install "the tests" ${missing[@]+"${missing[@]}"}
  scripts/install-schemathesis.sh
fi

# `npm run start:cluster`: PostgreSQL, nginx with its stream module (TLS passthrough), the Temporal Server.
if [ "${1:-}" = "--cluster" ]; then
  missing=()
  has_postgres || missing+=(postgresql)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  # Debian builds the stream module as a dynamic module in its own package; a static one shows in `nginx -V`.
  if [ ! -f /usr/lib/nginx/modules/ngx_stream_module.so ] \
    && ! { /usr/sbin/nginx -V 2>&1 | grep -Eq -- '--with-stream( |$)'; }; then
    missing+=(libnginx-mod-stream)
  fi
  apt_install "the cluster" ${missing[@]+"${missing[@]}"}
  scripts/install-temporal-server.sh
fi
