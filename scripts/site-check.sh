#!/usr/bin/env bash
# Copies the release binary alone into an empty folder, creates a demo there, serves it,
# and fetches what a browser would: the sign-in page, then the WebAssembly, the script and
# the stylesheet it links to, each with its content type and cache headers, and each
# equal to the built site's file. Usage: scripts/site-check.sh BINARY SITE_DIR PORT
set -euo pipefail
binary=$1 site=$(cd "$2" && pwd) port=$3
lone=$(mktemp -d "${TMPDIR:-/tmp}/coupler-lone.XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$lone"
}
trap cleanup EXIT
fail() { echo "site check: $*" >&2; [ -f "$lone/server.log" ] && tail -n 20 "$lone/server.log" >&2; exit 1; }

cp "$binary" "$lone/coupler"
cd "$lone"
[ "$(ls)" = coupler ] || fail "the folder is not empty"
./coupler demo --dir demo --customers 20 >/dev/null
./coupler --config demo/coupler.toml serve --addr "127.0.0.1:$port" >server.log 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "the server stopped"
  sleep 0.1
done

page=$(curl -fsSL "$url/")
grep -q "<title>Sign in · Coupler</title>" <<<"$page" || fail "/ did not lead to the sign-in page"
# fetch PATH TYPE FILE: the console's file at PATH has content type TYPE, may be kept a
# year, and equals FILE of the built site.
fetch() {
  local path=$1 type=$2 file=$3 headers
  headers=$(curl -fsS -D - -o "$lone/body" "$url$path") || fail "$path was not served"
  grep -qi "^content-type: $type" <<<"$headers" || fail "$path is not $type"
  grep -qi "^cache-control: public, max-age=31536000, immutable" <<<"$headers" \
    || fail "$path may not be kept"
  cmp -s "$lone/body" "$site/$file" || fail "$path differs from $site/$file"
}
linked() { grep -o "/pkg/coupler-[0-9a-f]\{16\}\.$1" <<<"$page" | head -n 1; }
for kind in wasm js css; do
  path=$(linked "$kind")
  [ -n "$path" ] || fail "the page links to no coupler-<digest>.$kind"
  case $kind in
    wasm) fetch "$path" application/wasm pkg/coupler.wasm ;;
    js) fetch "$path" text/javascript pkg/coupler.js ;;
    css) fetch "$path" text/css pkg/coupler.css ;;
  esac
  echo "site check: $path served from the binary alone"
done
