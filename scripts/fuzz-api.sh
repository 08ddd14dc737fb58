#!/usr/bin/env bash
# Fuzzes the Cl@ve Móvil endpoint's HTTP API from its own OpenAPI document with
# Schemathesis (an independent fuzzer): `clave-movil serve` on 127.0.0.1 with a fresh
# SQLite store, every operation with schema-driven valid and invalid input, then the
# stateful phase that follows the document's links (create a request, then its
# outcome, QR, SMS, cancel…). Fails on any 5xx, any answer that breaks the document
# (status, content type, headers, body schema), a missing credential that is not 401,
# invalid input that is accepted, or a panic in the server's log.
#
# Long-polls wait up to 30 s, hence the 40 s request timeout.
# Usage: scripts/fuzz-api.sh [max examples per operation, default 40]
# Run by scripts/test.sh; scripts/setup.sh test installs Schemathesis.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-40}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ventanilla/target}"
TOOLS="${VENTANILLA_TOOLS:-$HOME/.cache/ventanilla/tools}"
st="$TOOLS/schemathesis/bin/schemathesis"
[ -x "$st" ] || { echo "fuzz-api: Schemathesis missing: run scripts/setup.sh test" >&2; exit 2; }

cargo build --quiet -p clave-movil --bin clave-movil
server="$CARGO_TARGET_DIR/debug/clave-movil"

work="$(mktemp -d "${TMPDIR:-/tmp}/ventanilla-fuzz.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
service_key="fuzz-service-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
office_key="fuzz-office-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
hash() { printf '%s' "$1" | "$server" hash-key; }

# Waiting periods and lookup caps are raised so the fuzzer reaches the logic behind
# them: the limits themselves have their own HTTP tests (crates/clave-movil/tests/http).
cat > "$work/clave-movil.toml" <<EOF
listen = "127.0.0.1:$port"
tls = false
data_dir = "$work/data"
office_code = "O00012345"

[[api_keys]]
id = "fuzz-service"
body = "Servicio de pruebas"
sha256 = "$(hash "$service_key")"
role = "service"

[[api_keys]]
id = "fuzz-office"
body = "Oficina de pruebas"
sha256 = "$(hash "$office_key")"
role = "office"

[sms]
kind = "outbox"

[limits]
free_failures = 1000000
address_burst = 1000000
address_per_hour = 1000000
document_burst = 1000000
document_per_hour = 1000000
EOF

"$server" serve --config "$work/clave-movil.toml" > "$work/server.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

repo="$(pwd)"
fuzz() {
  local key="$1"; shift
  # From the work directory: Schemathesis keeps a cache in the current one.
  (cd "$work" && "$st" --config-file "$repo/tests/fuzz/schemathesis.toml" run "$base/openapi.json" \
    --url "$base" -H "Authorization: Bearer $key" \
    --checks all --max-examples "$examples" --seed 20261123 --workers 2 \
    --request-timeout 40 --generation-database none \
    "$@")
}

status=0
echo "fuzz-api: every operation, as a relying service"
fuzz "$service_key" --exclude-tag office || status=1
echo "fuzz-api: the office operations, with the office key"
fuzz "$office_key" --include-tag office --phases examples,coverage,fuzzing || status=1

if grep -E "panicked|answered with a server error" "$work/server.log"; then
  echo "fuzz-api: the server panicked or answered 5xx (above)" >&2
  status=1
fi
exit "$status"
