#!/usr/bin/env bash
# Installs what building, running and testing Coupler needs, skipping whatever is
# already there. Sourced by run.sh and test.sh; `setup.sh build` or `setup.sh test`
# also works on its own.
set -euo pipefail

COUPLER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$HOME/.cargo/bin:$COUPLER_ROOT/tools/node_modules/.bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

apt_updated=
apt_install() {
  local as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo)
  if [ -z "$apt_updated" ]; then
    "${as_root[@]}" apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "$@" >/dev/null
}

need_rust() {
  if ! command -v cargo >/dev/null; then
    echo "Rust is missing: install rustup (https://rustup.rs), then run this again." >&2
    exit 1
  fi
  # rust-toolchain.toml names the toolchain and the wasm32 target; make sure both exist.
  (cd "$COUPLER_ROOT" && rustup show active-toolchain >/dev/null)
  if ! (cd "$COUPLER_ROOT" && rustup target list --installed | grep -qx wasm32-unknown-unknown); then
    step "adding the wasm32-unknown-unknown target"
    (cd "$COUPLER_ROOT" && rustup target add wasm32-unknown-unknown)
  fi
}

need_node() {
  if ! command -v npm >/dev/null; then
    step "installing Node.js and npm"
    apt_install nodejs npm
  fi
}

need_build_tools() {
  need_rust
  need_node
  # The console's build (`cargo xtask`) is a crate of the workspace, wasm-bindgen a
  # library it links; only wasm-opt comes from npm's binaryen (Debian's is too old and
  # breaks hydration).
  if [ ! -x "$COUPLER_ROOT/tools/node_modules/.bin/wasm-opt" ]; then
    step "installing wasm-opt (npm binaryen)"
    (cd "$COUPLER_ROOT/tools" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

need_test_tools() {
  need_build_tools
  if [ ! -x /usr/bin/chromium ]; then
    step "installing Debian's chromium"
    apt_install chromium
  fi
  if [ ! -x "$COUPLER_ROOT/end2end/node_modules/.bin/playwright" ]; then
    step "installing Playwright (npm; it drives /usr/bin/chromium)"
    (cd "$COUPLER_ROOT/end2end" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  # Real servers in Python, in a virtual environment under target/ (Debian's python3
  # needs python3-venv for that): aiosmtpd, an SMTP server for the alert tests, and
  # odatapy, an OData v4 service for the OData connector's tests.
  if ! "$COUPLER_ROOT/target/py/bin/python" -c 'import aiosmtpd, odatapy' 2>/dev/null; then
    step "installing aiosmtpd and odatapy (pip, in target/py)"
    python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
    [ -x "$COUPLER_ROOT/target/py/bin/pip" ] || python3 -m venv "$COUPLER_ROOT/target/py"
    "$COUPLER_ROOT/target/py/bin/pip" install --quiet --disable-pip-version-check aiosmtpd odatapy==5.3.0
  fi
  # The server, unless one answers at the test URL already: a machine with only the
  # client (psql, pg_isready) cannot start the throwaway one.
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    && ! pg_isready -q -d "${COUPLER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" 2>/dev/null; then
    step "installing PostgreSQL"
    apt_install postgresql
  fi
}

build_release() {
  step "building the console and the coupler binary with it inside (release)"
  (cd "$COUPLER_ROOT" && cargo xtask release)
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    build) need_build_tools ;;
    test) need_test_tools ;;
    *) echo "usage: scripts/setup.sh build|test" >&2; exit 2 ;;
  esac
fi
