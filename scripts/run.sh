#!/usr/bin/env bash
# Runs Ventanilla. With no configuration file it starts in training mode: the
# virtual DNIe, a demo clerk shown on the login screen, its own SQLite file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ventanilla/target}"
npm run --silent build
cargo build -p ventanilla --features tauri/custom-protocol
exec "$CARGO_TARGET_DIR/debug/ventanilla" "$@"
