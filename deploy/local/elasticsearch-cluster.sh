#!/usr/bin/env bash
# A private two-node Elasticsearch cluster on this one machine, ports apart, for the fault suite
# (tests/faults) and for trying fail-over by hand. Same integ-test distribution as
# elasticsearch.sh; it never touches the shared node of `make services`.
#
# Node 1 is master-eligible and holds data; node 2 holds data only. With two nodes only one can
# be master-eligible usefully (a master election needs a majority of the voting nodes), so the
# node that can be lost without losing the cluster is node 2. Indices get one replica on the
# second node (authstream's layout asks for auto_expand_replicas 0-1), so either node has a copy
# of everything and stopping node 2 promotes the replicas on node 1.
#
#   elasticsearch-cluster.sh start          fresh cluster (data wiped), both nodes, green
#   elasticsearch-cluster.sh stop           stop both nodes (data kept)
#   elasticsearch-cluster.sh wipe           stop both nodes and delete their data
#   elasticsearch-cluster.sh status         which nodes answer
#   elasticsearch-cluster.sh urls           the HTTP URLs, comma-separated (AUTHSTREAM_ELASTICSEARCH_URL)
#   elasticsearch-cluster.sh stop-node I    stop node I (SIGTERM, as a service manager does)
#   elasticsearch-cluster.sh start-node I   start node I again on its data
#
# Environment: AUTHSTREAM_ES_CLUSTER_NAME (default "faults"), AUTHSTREAM_ES_CLUSTER_PORT (9250:
# node I serves HTTP on PORT+I-1 and transport on PORT+100+I-1), AUTHSTREAM_ES_CLUSTER_HEAP (512m).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
here="$(dirname "${BASH_SOURCE[0]}")"

NAME="${AUTHSTREAM_ES_CLUSTER_NAME:-faults}"
PORT="${AUTHSTREAM_ES_CLUSTER_PORT:-9250}"
HEAP="${AUTHSTREAM_ES_CLUSTER_HEAP:-512m}"
ES_VERSION="${AUTHSTREAM_LOCAL_ES_VERSION:-8.19.21}"
ES_USER=authstream-es
NODES=2
if [ "$(id -u)" = 0 ]; then ES_BASE=/opt/authstream-es; else ES_BASE="$HOME/.cache/authstream-es"; fi
ES_HOME="$ES_BASE/elasticsearch-$ES_VERSION"
BASE="$ES_BASE/cluster-$NAME"

http_port() { echo $((PORT + $1 - 1)); }
node_up() { curl -fsS -m 2 "http://127.0.0.1:$(http_port "$1")/_nodes/_local" >/dev/null 2>&1; }
green() {
  curl -fsS -m 5 "http://127.0.0.1:$(http_port 1)/_cluster/health?wait_for_status=green&wait_for_nodes=$NODES&timeout=1s" >/dev/null 2>&1
}

write_config() {
  rm -rf "$BASE"
  local i hosts="" roles
  for i in $(seq 1 $NODES); do hosts+="127.0.0.1:$((PORT + 100 + i - 1)),"; done
  for i in $(seq 1 $NODES); do
    local dir="$BASE/node$i"
    mkdir -p "$dir"/{config,data,logs,tmp}
    cp "$ES_HOME"/config/jvm.options "$ES_HOME"/config/log4j2.properties "$dir/config/"
    if [ "$i" = 1 ]; then roles="[master, data, ingest]"; else roles="[data, ingest]"; fi
    cat > "$dir/config/elasticsearch.yml" <<YML
cluster.name: authstream-$NAME
node.name: $NAME-$i
node.roles: $roles
network.host: 127.0.0.1
http.port: $(http_port "$i")
transport.port: $((PORT + 100 + i - 1))
discovery.seed_hosts: [${hosts%,}]
cluster.initial_master_nodes: [$NAME-1]
path.data: $dir/data
path.logs: $dir/logs
cluster.routing.allocation.disk.threshold_enabled: false
xpack.security.enabled: false
action.destructive_requires_name: false
cluster.max_shards_per_node: 5000
YML
  done
  if [ "$(id -u)" = 0 ]; then
    id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
    chown -R "$ES_USER" "$BASE"
  fi
}

start_node() {
  local i=$1 dir="$BASE/node$1"
  node_up "$i" && return
  [ -d "$dir" ] || die "no data for node $i: run '$0 start' first"
  local java run_as=()
  java="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  [ "$(id -u)" = 0 ] && run_as=(setpriv "--reuid=$ES_USER" "--regid=$ES_USER" --clear-groups)
  env ES_JAVA_HOME="$java" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
    ES_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" \
    "${run_as[@]}" "$ES_HOME/bin/elasticsearch" -d -p "$dir/tmp/es.pid" \
    < /dev/null > "$dir/logs/launcher.out" 2>&1 \
    || { tail -n 30 "$dir/logs/launcher.out" >&2; die "node $i failed to start (logs: $dir/logs)"; }
}

stop_node() {
  local pid
  pid="$(cat "$BASE/node$1/tmp/es.pid" 2>/dev/null || true)"
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do ((SECONDS < deadline)) || die "node $1 did not stop"; sleep 0.2; done
}

start() {
  stop_all
  bash "$here/elasticsearch.sh" fetch_distribution
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  write_config
  log "starting a two-node Elasticsearch cluster '$NAME' on ports $(http_port 1)-$(http_port $NODES) (heap $HEAP each)"
  start_node 1
  start_node 2
  wait_for "Elasticsearch cluster '$NAME' (green, $NODES nodes)" 240 green
  log "cluster '$NAME' is up: $(urls)"
}

stop_all() {
  [ -d "$BASE" ] || return 0
  local i
  for i in $(seq $NODES -1 1); do stop_node "$i"; done
}

urls() {
  local i out=()
  for i in $(seq 1 $NODES); do out+=("http://127.0.0.1:$(http_port "$i")"); done
  (IFS=,; echo "${out[*]}")
}

status() {
  local i
  for i in $(seq 1 $NODES); do
    if node_up "$i"; then echo "$NAME-$i: up (port $(http_port "$i"))"; else echo "$NAME-$i: down"; fi
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop_all ;;
  wipe) stop_all; rm -rf "$BASE" ;;
  status) status ;;
  urls) urls ;;
  stop-node) stop_node "${2:?node number}" ;;
  start-node) start_node "${2:?node number}" ;;
  *) die "usage: elasticsearch-cluster.sh start|stop|wipe|status|urls|stop-node I|start-node I" ;;
esac
