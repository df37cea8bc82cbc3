#!/usr/bin/env bash
# `make run`: installs what is missing, builds in release mode, creates the demo if
# absent, and serves the console on the embedded SQLite store.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$COUPLER_ROOT"

need_build_tools
build_release

DEMO_DIR=${COUPLER_DEMO_DIR:-demo}
if [ ! -f "$DEMO_DIR/coupler.toml" ]; then
  step "creating the demo systems in $DEMO_DIR/"
  created=$(target/release/coupler demo --dir "$DEMO_DIR")
  echo "$created"
  # A first synchronization, then people editing both systems, then another: the
  # console opens on real couplings, conflicts, deletions and failures.
  target/release/coupler --config "$DEMO_DIR/coupler.toml" sync
  target/release/coupler demo simulate --dir "$DEMO_DIR" --seed 1
  target/release/coupler --config "$DEMO_DIR/coupler.toml" sync
  # Shown again last, where they are not scrolled away: nobody else knows them.
  echo
  echo "$created" | sed -n '/^Console accounts/,$p'
fi

step "serving the console (Ctrl-C stops it)"
exec target/release/coupler --config "$DEMO_DIR/coupler.toml" serve
