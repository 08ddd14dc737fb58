#!/usr/bin/env bash
# Footprint of the release build under Xvfb: time from process start to both
# windows interactive (the app logs it when each page first calls in), and
# memory (PSS and RSS of the app and its WebKit processes) once settled.
# Usage: scripts/footprint.sh [runs]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
scripts/setup.sh test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ventanilla/target}"
npm run --silent build
cargo build --release -p ventanilla --features tauri/custom-protocol
bin="$CARGO_TARGET_DIR/release/ventanilla"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure_once() {
  local i=$1 data="$work/run$i"
  mkdir -p "$data"
  printf 'training = true\ndata_dir = "%s"\n' "$data" > "$work/config$i.toml"
  VENTANILLA_CONFIG="$work/config$i.toml" NO_AT_BRIDGE=1 "$bin" & local pid=$!
  local clerk="" counter="" waited=0
  while [ -z "$clerk" ] || [ -z "$counter" ]; do
    sleep 0.05; waited=$((waited + 1))
    [ "$waited" -gt 600 ] && { echo "run $i: windows not interactive after 30 s" >&2; kill -TERM $pid; return 1; }
    clerk=$(grep -ho 'startup: clerk window interactive ms=[0-9]*' "$data"/logs/* 2>/dev/null | grep -o '[0-9]*$' | head -1 || true)
    counter=$(grep -ho 'startup: counter window interactive ms=[0-9]*' "$data"/logs/* 2>/dev/null | grep -o '[0-9]*$' | head -1 || true)
  done
  sleep 3   # let both pages settle before measuring memory
  local pids="$pid $(pgrep -d ' ' -P "$pid" || true)"
  local pss=0 rss=0
  for p in $pids; do
    [ -r "/proc/$p/smaps_rollup" ] || continue
    pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")))
    rss=$((rss + $(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup")))
  done
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "$i $clerk $counter $((pss / 1024)) $((rss / 1024)) $(echo $pids | wc -w)"
}
# One private X server for all runs; it writes its display number when ready.
Xvfb -displayfd 3 -nolisten tcp -screen 0 1920x1080x24 3>"$work/display" 2>/dev/null &
xvfb_pid=$!
trap 'kill -TERM $xvfb_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.05; done
export DISPLAY=":$(cat "$work/display")"

echo "run clerk_ms counter_ms pss_mib rss_mib processes"
for i in $(seq "$runs"); do
  measure_once "$i"
done
