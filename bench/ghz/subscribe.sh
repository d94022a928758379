#!/usr/bin/env bash
# EventService.Subscribe under ghz: STREAMS streams, all open at once over CONNECTIONS HTTP/2
# connections, each held DURATION seconds. Needs `scripts/install-tools ghz`.
#
#   bench/ghz/subscribe.sh [HOST:PORT] [GHZ FLAGS...]
#
# With no address it starts the server of bench/fanout.py (aiops, no detectors, on a throw-away
# SQLite file) and has it publish DATA_SOURCE_HEALTH events at RATE a second while ghz runs.
# STREAMS (1000), CONNECTIONS (one per 100 streams), DURATION (30) and RATE (10) set the load;
# ghz flags given here win over them and over bench/ghz/subscribe.json (for instance
# --format json --output /tmp/ghz.json). ghz ends each stream after DURATION, so [Canceled] is
# the status every call should have; any other status is a failure.
#
# The method comes from protos/ (bench/ghz/subscribe.json), so that the scenario also runs
# against a server built before its reflection answered for method names (aiops.api.reflection).
# Without a config ghz uses the server's reflection:
#   .tools/bin/ghz --insecure --call aiops.v1.EventService.Subscribe -d '{}' \
#     --total 5 --concurrency 5 --stream-call-duration 1s 127.0.0.1:50051
set -euo pipefail
cd "$(dirname "$0")/../.."
ghz=.tools/bin/ghz
[[ -x "$ghz" ]] || { echo "no $ghz: run scripts/install-tools ghz" >&2; exit 1; }
streams=${STREAMS:-1000}
connections=${CONNECTIONS:-$(((streams + 99) / 100))}
duration=${DURATION:-30}
rate=${RATE:-10}

address=
if [[ $# -gt 0 && "$1" != -* ]]; then
  address=$1
  shift
fi
work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then
    exec 3>&- # end of its commands: the server stops
    wait "$server_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "$address" ]]; then
  # It takes JSON commands on stdin and answers in JSON lines: its address, then what it
  # published.
  mkfifo "$work/commands"
  .venv/bin/python bench/fanout.py --serve --database "$work/aiops.db" \
    <"$work/commands" >"$work/out" 2>"$work/server.log" &
  server_pid=$!
  exec 3>"$work/commands"
  for _ in $(seq 3000); do # five minutes: the first start compiles the numba kernels
    grep -q '"address"' "$work/out" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
  done
  address=$(sed -n 's/.*"address": "\([^"]*\)".*/\1/p' "$work/out")
  [[ -n "$address" ]] || { echo "the server did not start" >&2; exit 1; }
  echo "aiops (bench/fanout.py --serve) on $address, publishing $rate events/s for $duration s"
  echo "{\"publish\": true, \"rate\": $rate, \"duration\": $duration}" >&3
fi

"$ghz" --config bench/ghz/subscribe.json \
  --concurrency "$streams" --total "$streams" --connections "$connections" \
  --stream-call-duration "${duration}s" --timeout "$((duration + 60))s" "$@" "$address"

if [[ -n "$server_pid" ]]; then
  for _ in $(seq 600); do
    [[ $(wc -l <"$work/out") -ge 2 ]] && break
    sleep 0.1
  done
  echo "published: $(sed -n 2p "$work/out")"
fi
