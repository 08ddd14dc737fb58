#!/usr/bin/env bash
# Runs Ventanilla. With no configuration file it starts in training mode: a
# demo clerk shown on the login screen, its own SQLite file, and virtual DNIe
# cards the clerk inserts from the training panel. Those reach the app through
# the real PC/SC stack (pcscd + vsmartcard's vpcd reader), which this script
# starts when it is not running and stops again afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ventanilla/target}"
npm run --silent build
cargo build -p ventanilla --features tauri/custom-protocol

pcscd_pid=""
if ! pgrep -x pcscd >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    # A pcscd killed abruptly leaves these behind and blocks a restart.
    rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
    log="${TMPDIR:-/tmp}/ventanilla-pcscd.log"
    pcscd --foreground > "$log" 2>&1 &
    pcscd_pid=$!
    for _ in $(seq 50); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.1; done
    echo "run: started pcscd (pid $pcscd_pid, log $log)"
  else
    echo "run: pcscd is not running and starting it needs root; card readers will show 'no service'" >&2
  fi
fi
stop_pcscd() { [ -n "$pcscd_pid" ] && kill -TERM "$pcscd_pid" 2>/dev/null && wait "$pcscd_pid" 2>/dev/null; true; }
trap stop_pcscd EXIT

"$CARGO_TARGET_DIR/debug/ventanilla" "$@"
