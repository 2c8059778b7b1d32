#!/usr/bin/env bash
# Builds the pinned Temporal Server (and its SQL schema tool) from source with Go, once, into a cache outside the
# repo, copies its PostgreSQL schema next to them, and links the cache to .tools/temporal-server for the Node side.
# Idempotent: a warm start only checks the files and the link.
#
#   <cache>/bin/server, <cache>/bin/sql                                   the binaries (-ldflags="-s -w")
#   <cache>/schema/postgresql/v12/{temporal,visibility}/versioned/…        the schema `sql update-schema` applies
#   .tools/temporal-server -> <cache>
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="v1.32.1" # the newest release this machine's Go (1.26.8) builds; v1.32.2 asks for Go >= 1.26.10
MODULE="go.temporal.io/server"
cache="${CERTFLOW_CACHE_DIR:-$HOME/.cache/certflow}/temporal-server-$VERSION"
link="$root/.tools/temporal-server"

log() { echo "[install-temporal-server] $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

ready() {
  [ -x "$cache/bin/server" ] && [ -x "$cache/bin/sql" ] \
    && [ -d "$cache/schema/postgresql/v12/temporal/versioned" ] && [ -d "$cache/schema/postgresql/v12/visibility/versioned" ]
}

link_cache() {
  mkdir -p "$(dirname "$link")"
  ln -sfn "$cache" "$link"
}

if ready; then
  link_cache
  exit 0
fi

mkdir -p "$cache/bin"
# One build at a time per cache: a second caller waits for the first, then finds the binaries.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  log "another build of the Temporal Server $VERSION holds $cache/.lock; waiting for it"
  flock 9
fi
if ready; then
  link_cache
  exit 0
fi

command -v go >/dev/null 2>&1 \
  || fail "Go is not installed (or not on PATH). The cluster builds the Temporal Server $VERSION from source: install Go >= 1.26.8 (https://go.dev/dl/) and run again."

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
build_log="$cache/build.log"

# The module source: from the module cache, else from the module proxy.
if ! module_json="$(go mod download -json "$MODULE@$VERSION" 2>&1)"; then
  fail "the Go module proxy ($(go env GOPROXY)) could not provide $MODULE@$VERSION: $(echo "$module_json" | grep -m1 -E '"Error"|error|dial|timeout' || echo "$module_json" | tail -n 3)"
fi
module_dir="$(echo "$module_json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[ -d "$module_dir" ] || fail "go mod download reported no source folder for $MODULE@$VERSION: $module_json"

for tool in server:cmd/server sql:cmd/tools/sql; do
  name="${tool%%:*}"
  pkg="$MODULE/${tool#*:}@$VERSION"
  [ -x "$cache/bin/$name" ] && continue
  log "building $pkg with $(go env GOVERSION) (15-20 min on 2 cores the first time; log: $build_log)"
  started=$SECONDS
  # Built into a scratch folder and moved in whole, so an interrupted build never passes for a finished one.
  scratch="$(mktemp -d "$cache/bin/.build-XXXXXX")"
  if ! GOBIN="$scratch" go install -ldflags="-s -w" "$pkg" >>"$build_log" 2>&1; then
    rm -rf "$scratch"
    fail "the build of $pkg failed with $(go env GOVERSION); last lines of $build_log:
$(tail -n 15 "$build_log")"
  fi
  mv "$scratch/$name" "$cache/bin/$name"
  rm -rf "$scratch"
  log "built $cache/bin/$name in $((SECONDS - started)) s"
done

for schema in temporal visibility; do
  src="$module_dir/schema/postgresql/v12/$schema"
  [ -d "$src/versioned" ] || fail "$src/versioned is missing from the module source"
  rm -rf "$cache/schema/postgresql/v12/$schema"
  mkdir -p "$cache/schema/postgresql/v12"
  cp -R "$src" "$cache/schema/postgresql/v12/$schema"
  # The module cache is read-only; the copy must stay removable.
  chmod -R u+w "$cache/schema/postgresql/v12/$schema"
done

ready || fail "the cache $cache is incomplete after the build"
"$cache/bin/server" --help >/dev/null 2>&1 || fail "$cache/bin/server does not run"
link_cache
log "Temporal Server $VERSION ready in $cache (linked from .tools/temporal-server)"
