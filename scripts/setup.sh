#!/usr/bin/env bash
# Installs what building, running and testing Coupler needs, skipping whatever is
# already there. Sourced by run.sh and test.sh; `setup.sh build` or `setup.sh test`
# also works on its own.
set -euo pipefail

COUPLER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO_LEPTOS_VERSION=0.3.10
# Must equal the workspace's pinned wasm-bindgen (Cargo.toml).
WASM_BINDGEN_VERSION=0.2.130
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
  if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    step "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 25 minutes on 2 cores, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
    # Not --locked: its lock file names a crate version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  # wasm-opt from npm's binaryen: Debian's binaryen is too old and breaks hydration.
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
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v pg_isready >/dev/null; then
    step "installing PostgreSQL"
    apt_install postgresql
  fi
}

build_release() {
  step "building the console and the coupler binary (release)"
  (cd "$COUPLER_ROOT" && cargo leptos build --release)
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    build) need_build_tools ;;
    test) need_test_tools ;;
    *) echo "usage: scripts/setup.sh build|test" >&2; exit 2 ;;
  esac
fi
