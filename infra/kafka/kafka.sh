#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft mode) for local development and tests.
#
#   infra/kafka/kafka.sh fetch    resolve the broker jars from Maven Central into the cache
#   infra/kafka/kafka.sh start    fetch if needed, format storage once, start, wait until ready
#   infra/kafka/kafka.sh stop     stop cleanly (SIGTERM, then SIGKILL after a grace period)
#   infra/kafka/kafka.sh status   exit 0 when running and accepting connections
#   infra/kafka/kafka.sh version  print the broker version
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1),
# KAFKA_DATA_DIR (.data/kafka), KAFKA_CACHE_DIR (.cache/kafka), KAFKA_HEAP (512m),
# KAFKA_START_TIMEOUT_S (90).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
data_dir=${KAFKA_DATA_DIR:-$root/.data/kafka}
cache_dir=${KAFKA_CACHE_DIR:-$root/.cache/kafka}
libs_dir="$cache_dir/$kafka_version/libs"
heap=${KAFKA_HEAP:-512m}
start_timeout=${KAFKA_START_TIMEOUT_S:-90}
pid_file="$data_dir/broker.pid"
log_dir="$data_dir/log"

say() { printf '[kafka] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid=$(cat "$pid_file")
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

fetch() {
  [[ -f "$libs_dir/.complete" ]] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to resolve the Kafka jars"
  say "resolving Apache Kafka $kafka_version from Maven Central into $libs_dir"
  local tmp="$libs_dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    die "Maven could not resolve the Kafka jars"
  fi
  rm -f "$tmp.log"
  rm -rf "$libs_dir"
  mv "$tmp" "$libs_dir"
  touch "$libs_dir/.complete"
}

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then echo "$JAVA_HOME/bin/java"; return; fi
  command -v java >/dev/null || die "Java 17+ is needed to run the broker"
  command -v java
}

run_tool() {
  "$(java_bin)" -Xmx256m -cp "$libs_dir/*" -Dlog4j2.configurationFile="$here/log4j2.xml" \
    -Dkafka.logs.dir="$log_dir" "$@"
}

write_config() {
  mkdir -p "$data_dir" "$log_dir"
  sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" \
    -e "s|@DATA_DIR@|$data_dir|g" "$here/server.properties.template" >"$data_dir/server.properties"
}

format_storage() {
  [[ -f "$data_dir/logs/meta.properties" ]] && return 0
  local cluster_id
  if [[ -f "$data_dir/cluster.id" ]]; then
    cluster_id=$(cat "$data_dir/cluster.id")
  else
    cluster_id=$(run_tool kafka.tools.StorageTool random-uuid | tail -n 1)
    echo "$cluster_id" >"$data_dir/cluster.id"
  fi
  say "formatting KRaft storage in $data_dir/logs (cluster $cluster_id)"
  run_tool kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
    -c "$data_dir/server.properties" >"$log_dir/format.log" 2>&1 ||
    { cat "$log_dir/format.log" >&2; die "formatting storage failed"; }
}

start() {
  local pid
  if pid=$(running_pid); then
    if port_open "$port"; then say "already running (pid $pid) on 127.0.0.1:$port"; return 0; fi
    say "process $pid holds the pid file but does not answer on $port; stopping it"
    stop
  fi
  rm -f "$pid_file"
  port_open "$port" && die "port $port is taken by another process (set KAFKA_PORT)"
  port_open "$controller_port" && die "port $controller_port is taken by another process (set KAFKA_CONTROLLER_PORT)"
  fetch
  write_config
  format_storage
  # A broker killed with SIGKILL leaves its .lock file; the OS lock is gone with the process,
  # and Kafka recovers the log on start. Nothing else to clean.
  local before=0
  [[ -f "$log_dir/server.log" ]] && before=$(grep -c 'Kafka Server started' "$log_dir/server.log" || true)
  say "starting Apache Kafka $kafka_version on 127.0.0.1:$port (data in $data_dir)"
  nohup "$(java_bin)" -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$here/log4j2.xml" \
    -Dkafka.logs.dir="$log_dir" -cp "$libs_dir/*" kafka.Kafka "$data_dir/server.properties" \
    >"$log_dir/stdout.log" 2>&1 </dev/null &
  local started=$!
  echo "$started" >"$pid_file"
  local deadline=$((SECONDS + start_timeout))
  while ((SECONDS < deadline)); do
    # Liveness of the process just started, not running_pid: right after the fork its command
    # line may still be the shell's, which running_pid would take for a stale pid file (and the
    # broker would run on, orphaned).
    if ! kill -0 "$started" 2>/dev/null; then
      tail -n 40 "$log_dir/stdout.log" "$log_dir/server.log" >&2 2>/dev/null || true
      rm -f "$pid_file"
      die "the broker exited during start-up (logs in $log_dir)"
    fi
    local now=0
    [[ -f "$log_dir/server.log" ]] && now=$(grep -c 'Kafka Server started' "$log_dir/server.log" || true)
    if ((now > before)) && port_open "$port"; then
      say "ready on 127.0.0.1:$port (pid $(cat "$pid_file"), logs in $log_dir)"
      return 0
    fi
    sleep 0.5
  done
  kill -TERM "$started" 2>/dev/null || true
  rm -f "$pid_file"
  die "the broker did not become ready within ${start_timeout}s (logs in $log_dir)"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pid_file"
    say "not running"
    return 0
  fi
  say "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.3; done
  if kill -0 "$pid" 2>/dev/null; then
    say "did not stop within 30s; killing"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pid_file"
}

status() {
  local pid
  if pid=$(running_pid) && port_open "$port"; then
    say "running (pid $pid) on 127.0.0.1:$port"
    return 0
  fi
  say "not running"
  return 1
}

version() {
  fetch
  run_tool kafka.Kafka --version 2>/dev/null | head -n 1
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  version) version ;;
  *) echo "usage: $0 fetch|start|stop|status|version" >&2; exit 2 ;;
esac
