#!/usr/bin/env bash
# Installs what Ventanilla needs to build, run and test, skipping what is
# already present: Debian packages, npm packages, tauri-driver.
# Usage: scripts/setup.sh [run|test]
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-test}"

# Shared build cache outside the clone: a second run (and CI on the same
# machine) reuses it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ventanilla/target}"
TOOLS="${VENTANILLA_TOOLS:-$HOME/.cache/ventanilla/tools}"

APT_RUN=(libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev
         build-essential pkg-config file xvfb xauth pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools)
APT_TEST=(webkit2gtk-driver imagemagick x11-apps procps zbar-tools)

need_apt=()
pkgs=("${APT_RUN[@]}")
[ "$purpose" = test ] && pkgs+=("${APT_TEST[@]}")
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

# npm ci fails against this registry (lockfile lists platform packages it
# cannot serve), so npm install, which keeps the lock as it is.
if [ ! -x node_modules/.bin/vite ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm install"
  npm install --no-audit --no-fund --loglevel=error
fi

if [ "$purpose" = test ] && ! [ -x "$TOOLS/bin/tauri-driver" ]; then
  echo "setup: cargo install tauri-driver"
  cargo install tauri-driver --version '^2' --locked --root "$TOOLS"
fi

# The API fuzzer of the test suite (scripts/fuzz-api.sh), in its own virtualenv.
SCHEMATHESIS_VERSION=4.32.5
if [ "$purpose" = test ] && ! "$TOOLS/schemathesis/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "setup: pip install schemathesis $SCHEMATHESIS_VERSION"
  python3 -m venv "$TOOLS/schemathesis"
  "$TOOLS/schemathesis/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
