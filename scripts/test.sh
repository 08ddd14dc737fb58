#!/usr/bin/env bash
# The whole test suite: lints, UI unit tests, every Rust test including the
# end-to-end tests that drive the real app under Xvfb over WebDriver.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ventanilla/target}"
export PATH="${VENTANILLA_TOOLS:-$HOME/.cache/ventanilla/tools}/bin:$PATH"
export SQLX_OFFLINE=true
export CARGO_TERM_COLOR=never

step() { printf '\n== %s ==\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "UI: typecheck, build, unit tests"
npm run --silent build
npx vitest run --config ui/vite.config.ts

step "app build for the end-to-end tests (custom-protocol: embeds ui/dist)"
cargo build -p ventanilla --features tauri/custom-protocol
mkdir -p "$CARGO_TARGET_DIR/e2e"
# `cargo test` may rebuild target/debug/ventanilla as a dev build: keep our own copy.
cp "$CARGO_TARGET_DIR/debug/ventanilla" "$CARGO_TARGET_DIR/e2e/ventanilla"
export VENTANILLA_APP_BIN="$CARGO_TARGET_DIR/e2e/ventanilla"

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "Rust tests (unit, integration, end-to-end)"
timeout 1800 cargo test --workspace --no-fail-fast

step "API fuzzing (Schemathesis against clave-movil serve, from its OpenAPI document)"
scripts/fuzz-api.sh
