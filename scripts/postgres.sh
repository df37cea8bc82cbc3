#!/usr/bin/env bash
# Sourced by test.sh: makes a PostgreSQL answer at $COUPLER_TEST_POSTGRES_URL. When
# none answers there, starts a throwaway one on loopback for this run; stop_postgres
# stops it and removes its data.
set -euo pipefail

: "${COUPLER_TEST_POSTGRES_URL:=postgres://postgres@127.0.0.1:5432/postgres}"
export COUPLER_TEST_POSTGRES_URL
started_pg_data=

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }
  echo "$dir"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  if pg_isready -q -d "$COUPLER_TEST_POSTGRES_URL" 2>/dev/null; then
    echo "Using the PostgreSQL at $COUPLER_TEST_POSTGRES_URL"
    return
  fi
  local bin port
  bin=$(pg_bin)
  port=$(sed -E 's#.*:([0-9]+)/.*#\1#' <<<"$COUPLER_TEST_POSTGRES_URL")
  [[ "$port" =~ ^[0-9]+$ ]] || port=5432
  started_pg_data=$(mktemp -d "${TMPDIR:-/tmp}/coupler-pg.XXXXXX")
  [ "$(id -u)" = 0 ] && chown postgres: "$started_pg_data"
  echo "Starting PostgreSQL on 127.0.0.1:$port for this run"
  as_postgres "$bin/initdb" -D "$started_pg_data" -U postgres -A trust -E UTF8 >/dev/null
  as_postgres "$bin/pg_ctl" -D "$started_pg_data" -l "$started_pg_data/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $started_pg_data -c fsync=off -c max_connections=200" start >/dev/null
}

stop_postgres() {
  if [ -n "$started_pg_data" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$started_pg_data" -m fast -w stop >/dev/null || true
    rm -rf "$started_pg_data"
    started_pg_data=
  fi
}
