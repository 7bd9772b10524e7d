#!/usr/bin/env bash
# Stops the broker that scripts/kafka/start.sh started: only the pid in its pid file, and only
# while that pid is still the kafka.Kafka JVM of this state dir. SIGTERM (clean shutdown), then
# SIGKILL after a timeout. Exits 0 when nothing of ours is running.
# Env (defaults in brackets; use the same values as for start.sh):
#   KAFKA_PORT           client port, names the default state dir   [19092]
#   KAFKA_STATE_DIR      state dir of start.sh                      [/tmp/jobq-kafka-$KAFKA_PORT]
#   KAFKA_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL        [30]
#   KAFKA_DELETE_DATA=1  remove data/ after stopping (the state dir keeps server.log)
set -euo pipefail
state="${KAFKA_STATE_DIR:-/tmp/jobq-kafka-${KAFKA_PORT:-19092}}"
timeout="${KAFKA_STOP_TIMEOUT:-30}"
pidfile="$state/kafka.pid" conf="$state/server.properties"
log() { echo "kafka/stop.sh: $*" >&2; }
# running and not a zombie (a zombie waits for its reaper; it holds no ports or files)
alive() { local st; st="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null)" && [ "${st:0:1}" != Z ]; }

[ -f "$pidfile" ] || { log "not running (no $pidfile)"; exit 0; }
pid="$(cat "$pidfile")"
args="$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline")" || args=""
if ! { grep -qFx kafka.Kafka <<<"$args" && grep -qFx "$conf" <<<"$args"; }; then
  log "pid $pid is not the broker of $state any more; nothing to stop"
  rm -f "$pidfile"; exit 0
fi

t0=$(date +%s%3N)
kill -TERM "$pid"
for _ in $(seq $(( timeout * 10 ))); do alive || break; sleep 0.1; done
if alive; then
  log "pid $pid still alive after ${timeout}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do alive || break; sleep 0.1; done
fi
rm -f "$pidfile"
if [ "${KAFKA_DELETE_DATA:-0}" = 1 ]; then rm -rf "$state/data"; fi
log "stopped pid $pid in $(( $(date +%s%3N) - t0 )) ms"
