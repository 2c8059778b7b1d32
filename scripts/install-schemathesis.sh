#!/usr/bin/env bash
# Installs the pinned schemathesis (PyPI) into .tools/schemathesis (git-ignored), a virtualenv of its own, idempotently:
# test/api/fuzz.test.ts runs it against the support API's OpenAPI document.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tools/schemathesis"
requirements="$root/scripts/schemathesis-requirements.txt"
log() { echo "[install-schemathesis] $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

# The requirements' digest marks a complete install of exactly these pins; a changed file reinstalls.
digest="$(sha256sum "$requirements" | cut -d' ' -f1)"
[ -x "$dir/bin/st" ] && [ "$(cat "$dir/.installed" 2>/dev/null)" = "$digest" ] && exit 0

command -v python3 >/dev/null 2>&1 || fail "python3 is not installed (apt-get install python3 python3-venv)"
log "installing schemathesis from PyPI ($(grep -m1 '^schemathesis==' "$requirements"))"
rm -rf "$dir"
python3 -m venv "$dir" || fail "python3 -m venv failed (apt-get install python3-venv)"
# --no-deps: the requirements file is the whole closure, so nothing unpinned comes in.
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" >&2 \
  || fail "pip could not install $requirements from PyPI"
"$dir/bin/st" --version >/dev/null || fail "$dir/bin/st does not run"
echo "$digest" > "$dir/.installed"
