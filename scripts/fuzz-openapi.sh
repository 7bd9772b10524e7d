#!/usr/bin/env bash
# Runs schemathesis (from PyPI, in a throwaway venv) against a fresh `jobq serve`
# and its /openapi.json, with an admin API token supplied (auth on: every route
# is reached, not just its 401; a claim may long-poll for 30 s, hence the 40 s
# request timeout and the 35 s response-time limit). Not part of npm test: it needs PyPI and takes a few minutes.
#   bash scripts/fuzz-openapi.sh [max-examples]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${JOBQ_FUZZ_VENV:-/tmp/jobq-schemathesis}
[ -x "$venv/bin/schemathesis" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q schemathesis; }
node scripts/ensure-ready.mjs
db=$(mktemp -d)/fuzz.db
port=18789
token="jobq_fuzz_$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
JOBQ_ADMIN_TOKEN="$token" node dist/src/cli/main.js serve --port "$port" --sqlite-path "$db" --queues idle --log-level error &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$(dirname "$db")"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
"$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" --url "http://127.0.0.1:$port" --checks all --max-examples "${1:-100}" --seed 1 \
  --header "Authorization: Bearer $token" --request-timeout 40 --max-response-time 35
