#!/usr/bin/env bash
# Starts a real single-node Apache Kafka broker for jobq's tests: KRaft, broker and controller
# in one JVM, built from Maven Central jars (no Docker, no tarball). Runs in the background.
# stdout gets exactly one line, KAFKA_BOOTSTRAP=host:port; progress goes to stderr.
#
#   out="$(scripts/kafka/start.sh)" && export "$out"     # ... tests ...;  scripts/kafka/stop.sh
#
# Needs java 17+, and mvn once per Kafka version (to fill the jar cache). Idempotent: if the
# broker of this state dir is already running, it prints the line and exits 0.
# Env (defaults in brackets):
#   KAFKA_VERSION          org.apache.kafka:kafka_2.13 version              [4.2.2]
#   KAFKA_HOST             listener address                                 [127.0.0.1]
#   KAFKA_PORT             client port                                      [19092]
#   KAFKA_CONTROLLER_PORT  KRaft controller port                            [19093]
#   KAFKA_STATE_DIR        server.properties, data/, server.log, kafka.pid  [/tmp/jobq-kafka-$KAFKA_PORT]
#   KAFKA_JARS_DIR         jar cache    [${XDG_CACHE_HOME:-$HOME/.cache}/jobq-kafka/$KAFKA_VERSION]
#   KAFKA_KEEP_DATA=1      keep topics and offsets of the last run          [0: fresh data each start]
#   KAFKA_HEAP_OPTS        JVM heap                                         [-Xms256m -Xmx512m]
#   KAFKA_LOG_LEVEL        level of server.log                              [INFO]
#   KAFKA_EXTRA_PROPERTIES lines appended to server.properties (later keys win)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness                    [120]
#   KAFKA_CDS=0            no class-data sharing archive                    [1]
#   KAFKA_CLUSTER_ID       the KRaft cluster id when formatting             [random, base64url]
#
# Class-data sharing (AppCDS): class loading is most of the start-up cost. A broker started
# without an archive writes one when it exits cleanly, i.e. at the first stop.sh
# (-XX:ArchiveClassesAtExit, to a .part file in the jar cache). Every start.sh checks the archive
# with "java -Xshare:on -version" before using or promoting it and deletes what the check rejects:
# a truncated archive (killed mid-write, disk full) crashes any JVM that maps it, even with
# -Xshare:auto. A missing or rejected archive only costs speed. KAFKA_CDS=0: no archive at all.
set -euo pipefail
set -f  # no globbing: "$jars/*" is a classpath wildcard for java, not for bash

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${KAFKA_VERSION:-4.2.2}"
host="${KAFKA_HOST:-127.0.0.1}"
port="${KAFKA_PORT:-19092}"
cport="${KAFKA_CONTROLLER_PORT:-19093}"
state="${KAFKA_STATE_DIR:-/tmp/jobq-kafka-$port}"
jars="${KAFKA_JARS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jobq-kafka/$version}"
timeout="${KAFKA_START_TIMEOUT:-120}"
conf="$state/server.properties" pidfile="$state/kafka.pid" out="$state/server.log"

log() { echo "kafka/start.sh: $*" >&2; }
ms() { date +%s%3N; }
port_open() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }
# true if pid $1 is the kafka.Kafka JVM of this state dir
is_ours() {
  local args; args="$(tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline")" || return 1
  grep -qFx kafka.Kafka <<<"$args" && grep -qFx "$conf" <<<"$args"
}

if [ -f "$pidfile" ] && is_ours "$(cat "$pidfile")"; then
  log "already running (pid $(cat "$pidfile"))"
  echo "KAFKA_BOOTSTRAP=$host:$port"; exit 0
fi
for p in "$port" "$cport"; do
  if port_open "$p"; then log "$host:$p is already in use by another process"; exit 1; fi
done
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
command -v "$java" >/dev/null || { log "java not found (Kafka 4 needs Java 17+)"; exit 1; }

# 1. Jar cache, resolved once per version (into a temp dir, renamed when complete).
if [ ! -f "$jars/.complete" ]; then
  command -v mvn >/dev/null || { log "mvn not found, needed once to fetch the Kafka jars"; exit 1; }
  log "resolving Kafka $version jars from Maven into $jars"; t0=$(ms)
  tmp="$jars.tmp.$$"; mkdir -p "$tmp"
  if ! mvn -B -q -f "$here/pom.xml" -Dkafka.version="$version" dependency:copy-dependencies \
         -DincludeScope=runtime -DoutputDirectory="$tmp" >"$tmp/mvn.log" 2>&1; then
    cat "$tmp/mvn.log" >&2; rm -rf "$tmp"; exit 1
  fi
  rm "$tmp/mvn.log"; touch "$tmp/.complete"
  mv -T "$tmp" "$jars" 2>/dev/null || rm -rf "$tmp"   # lost a race with another start: fine
  [ -f "$jars/.complete" ] || { log "could not put the jars into $jars (exists and incomplete?)"; exit 1; }
  log "jars ready in $(( $(ms) - t0 )) ms"
fi
cp="$jars/*"

# 2. Class-data archive (see header). A JVM that maps a truncated archive dies of SIGBUS, even
#    with -Xshare:auto, so an archive is used only after "java -Xshare:on ... -version" accepted
#    it (about 60 ms); a rejected one is deleted. JVM crash reports (hs_err_pid*.log) of the
#    format and broker JVMs go to the state dir instead of the caller's working directory.
mkdir -p "$state"
crash=(-XX:ErrorFile="$state/hs_err_pid%p.log" -XX:-CreateCoredumpOnCrash)
archive_ok() { [ -s "$1" ] && "$java" -XX:ErrorFile=/dev/null -XX:-CreateCoredumpOnCrash -Xshare:on -XX:SharedArchiveFile="$1" -cp "$cp" -version >/dev/null 2>&1; }
archive="$jars/cds/broker-$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/.*java.vm.version = //p').jsa"
pending="$state/cds-pending"   # path of the .part file the last broker of this state dir wrote at exit
if [ -f "$pending" ]; then
  part="$(cat "$pending")"; rm -f "$pending"
  if archive_ok "$part"; then mv -f "$part" "$archive"; log "class-data archive saved: $archive"
  elif [ -e "$part" ]; then rm -f "$part"; log "discarded an incomplete class-data archive"; fi
fi
cds_use=() cds_dump=()  # flags for every JVM / for the broker only
if [ "${KAFKA_CDS:-1}" = 1 ]; then
  if [ -f "$archive" ] && ! archive_ok "$archive"; then rm -f "$archive"; log "deleted a class-data archive the JVM rejects"; fi
  if [ -f "$archive" ]; then
    cds_use=(-XX:SharedArchiveFile="$archive" "-Xlog:cds*=off")
  else
    mkdir -p "$jars/cds"; part="$archive.part.$$"; echo "$part" >"$pending"
    cds_dump=(-XX:ArchiveClassesAtExit="$part" "-Xlog:cds*=off")
  fi
fi

# 3. Config: single node, RF 1, fast group start-up for tests.
cat >"$conf" <<EOF
# written by scripts/kafka/start.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$cport
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$cport
advertised.listeners=PLAINTEXT://$host:$port
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/data
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
group.consumer.heartbeat.interval.ms=1000
group.consumer.min.heartbeat.interval.ms=500
group.share.heartbeat.interval.ms=1000
group.share.min.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=4
${KAFKA_EXTRA_PROPERTIES:-}
EOF
cat >"$state/log4j2.properties" <<EOF
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${KAFKA_LOG_LEVEL:-INFO}
rootLogger.appenderRef.out.ref = out
# the readiness line below must be logged whatever KAFKA_LOG_LEVEL says
logger.ready.name = kafka.server.KafkaRaftServer
logger.ready.level = INFO
EOF
jvm=("${crash[@]}" "${cds_use[@]}" -Dlog4j2.configurationFile="$state/log4j2.properties" -cp "$cp")

# 4. Format storage (what kafka-storage.sh format does), fresh unless KAFKA_KEEP_DATA=1.
if [ "${KAFKA_KEEP_DATA:-0}" = 1 ] && [ -f "$state/data/meta.properties" ]; then
  log "keeping the data in $state/data"
else
  rm -rf "$state/data"; t0=$(ms)
  cluster_id="${KAFKA_CLUSTER_ID:-$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')}"
  # --cluster-id=ID, not -t ID: an id that starts with "-" (1 start in 64) was read as an option.
  "$java" -Xmx256m "${jvm[@]}" kafka.tools.StorageTool format \
      "--cluster-id=$cluster_id" -c "$conf" >"$state/format.log" 2>&1 || { tail -n 15 "$state/format.log" >&2; exit 1; }
  log "storage formatted in $(( $(ms) - t0 )) ms"
fi

# 5. Start the broker in its own session (setsid), so that signals sent to the caller's process
#    group (Ctrl-C, timeout(1), a test runner) do not reach it: only stop.sh stops it. (In a script,
#    a background job is not a process-group leader, so setsid execs in place and $! is the JVM.)
#    Then wait until the client port accepts and the broker logged "Kafka Server started".
t0=$(ms)
# shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of flags
setsid "$java" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -Djava.awt.headless=true "${cds_dump[@]}" "${jvm[@]}" kafka.Kafka "$conf" >"$out" 2>&1 </dev/null &
pid=$!; echo "$pid" >"$pidfile"
until port_open "$port" && grep -q 'Kafka Server started' "$out"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    log "broker exited during start-up; end of $out:"; tail -n 30 "$out" >&2
    rm -f "$pidfile"; exit 1
  fi
  if [ $(( $(ms) - t0 )) -gt $(( timeout * 1000 )) ]; then
    log "not ready after ${timeout}s; stopping pid $pid"; tail -n 30 "$out" >&2
    kill "$pid"; rm -f "$pidfile"; exit 1
  fi
  sleep 0.1
done
log "Kafka $version ready in $(( $(ms) - t0 )) ms (pid $pid, log $out)"
echo "KAFKA_BOOTSTRAP=$host:$port"
