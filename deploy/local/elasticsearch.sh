#!/usr/bin/env bash
# A real single-node Elasticsearch 8.x on 127.0.0.1:9200, without Docker.
#
# The node is Elastic's own "integ-test-zip" distribution, resolved from Maven
# Central with Maven (org.elasticsearch.distribution.integ-test-zip:elasticsearch).
# It is the real server with its HTTP transport but without the optional
# modules (no painless scripting, no delete-by-query, no percolator), which is
# why authstream relies on none of them. Elasticsearch refuses to run as root,
# so under root it runs as a dedicated system user.
#   elasticsearch.sh start | stop | status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ES_VERSION="${AUTHSTREAM_LOCAL_ES_VERSION:-8.19.21}"
ES_PORT="${AUTHSTREAM_LOCAL_ES_PORT:-9200}"
ES_HEAP="${AUTHSTREAM_LOCAL_ES_HEAP:-1g}"
ES_USER=authstream-es
MARKER="$STATE_DIR/elasticsearch.started"

if [ "$(id -u)" = 0 ]; then ES_BASE=/opt/authstream-es; else ES_BASE="$HOME/.cache/authstream-es"; fi
ES_HOME="$ES_BASE/elasticsearch-$ES_VERSION"
RUN_DIR="$ES_BASE/node-$ES_PORT"

healthy() { curl -fsS -m 5 "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; }

find_java() {
  local java
  java="$(command -v java || true)"
  if [ -z "$java" ]; then apt_install openjdk-17-jre-headless; java="$(command -v java)"; fi
  dirname "$(dirname "$(readlink -f "$java")")"
}

fetch_distribution() {
  [ -x "$ES_HOME/bin/elasticsearch" ] && return
  command -v mvn >/dev/null || apt_install maven
  command -v unzip >/dev/null || apt_install unzip
  log "resolving Elasticsearch $ES_VERSION from Maven Central"
  local download
  download="$(mktemp -d)"
  mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
    -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
    -DoutputDirectory="$download" >&2
  mkdir -p "$ES_BASE"
  unzip -q -o "$download/elasticsearch-$ES_VERSION.zip" -d "$ES_BASE"
  rm -rf "$download"
}

write_config() {
  # A fresh, throwaway data directory on every start: this node is for tests and demos.
  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR"/{config,data,logs,tmp}
  cp "$ES_HOME"/config/jvm.options "$ES_HOME"/config/log4j2.properties "$RUN_DIR/config/"
  cat > "$RUN_DIR/config/elasticsearch.yml" <<YML
cluster.name: authstream-local
node.name: authstream-local-1
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $((ES_PORT + 100))
discovery.type: single-node
path.data: $RUN_DIR/data
path.logs: $RUN_DIR/logs
cluster.routing.allocation.disk.threshold_enabled: false
xpack.security.enabled: false
action.destructive_requires_name: false
# Test runs make many throwaway namespaces; a data stream cannot be deleted on this build.
cluster.max_shards_per_node: 5000
YML
}

start() {
  if healthy; then
    log "Elasticsearch already answers on 127.0.0.1:$ES_PORT: reusing it"
    return
  fi
  if port_open 127.0.0.1 "$ES_PORT"; then
    wait_for "Elasticsearch (yellow or green)" 120 healthy
    log "Elasticsearch already running on 127.0.0.1:$ES_PORT: reusing it"
    return
  fi
  command -v curl >/dev/null || apt_install curl
  local java_home
  java_home="$(find_java)"
  fetch_distribution
  write_config
  local run_as=()
  if [ "$(id -u)" = 0 ]; then
    id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
    chown -R "$ES_USER" "$RUN_DIR" "$ES_HOME"
    run_as=(setpriv "--reuid=$ES_USER" "--regid=$ES_USER" --clear-groups)
  fi
  log "starting Elasticsearch $ES_VERSION (heap $ES_HEAP, data in $RUN_DIR/data)"
  env ES_JAVA_HOME="$java_home" ES_PATH_CONF="$RUN_DIR/config" ES_TMPDIR="$RUN_DIR/tmp" \
    ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
    "${run_as[@]}" "$ES_HOME/bin/elasticsearch" -d -p "$RUN_DIR/tmp/es.pid" \
    < /dev/null > "$RUN_DIR/logs/launcher.out" 2>&1 \
    || { tail -n 30 "$RUN_DIR/logs/launcher.out" >&2; die "Elasticsearch failed to start (logs: $RUN_DIR/logs)"; }
  echo "$RUN_DIR/tmp/es.pid" > "$MARKER"
  wait_for "Elasticsearch (yellow or green)" 180 healthy
  log "Elasticsearch is up"
}

stop() {
  if [ ! -f "$MARKER" ]; then
    log "Elasticsearch was not started by these scripts: leaving it alone"
    return
  fi
  local pidfile pid
  pidfile="$(cat "$MARKER")"
  if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    log "stopping Elasticsearch (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  rm -f "$MARKER"
}

# Wipe the node's state: every index (authstream's and anyone's) and authstream's templates. A node
# these scripts started and that no longer answers is restarted instead (its data directory is
# fresh on every start).
reset() {
  local base="http://127.0.0.1:$ES_PORT"
  if healthy; then
    log "deleting every index and authstream's templates on 127.0.0.1:$ES_PORT"
    curl -fsS -m 120 -X DELETE "$base/_data_stream/*" >/dev/null 2>&1 || true  # not on every build
    curl -fsS -m 120 -X DELETE "$base/*?expand_wildcards=open,closed" >/dev/null
    curl -fsS -m 60 -X DELETE "$base/_index_template/*authstream*" >/dev/null 2>&1 || true
    curl -fsS -m 60 -X DELETE "$base/_component_template/*authstream*" >/dev/null 2>&1 || true
    log "Elasticsearch reset"
  elif [ -f "$MARKER" ]; then
    log "Elasticsearch does not answer: restarting it on a fresh data directory"
    stop
    start
  else
    die "Elasticsearch on 127.0.0.1:$ES_PORT does not answer and was not started by these scripts"
  fi
}

status() {
  if healthy; then echo "elasticsearch: up (http://127.0.0.1:$ES_PORT)"; else echo "elasticsearch: down"; fi
}

"${1:-start}"
