#!/usr/bin/env bash
# A private RabbitMQ cluster of N nodes on this one machine, ports apart, for the fault suite
# (tests/faults) and for trying fail-over by hand. It never touches the shared broker of
# `make services`: its own node names, ports, data directories, config and Erlang cookie.
#
#   rabbitmq-cluster.sh start          N fresh nodes (data wiped), joined into one cluster
#   rabbitmq-cluster.sh stop           stop every node (data kept)
#   rabbitmq-cluster.sh wipe           stop every node and delete the cluster's data
#   rabbitmq-cluster.sh status         which nodes answer
#   rabbitmq-cluster.sh urls           the AMQP URLs, comma-separated (AUTHSTREAM_AMQP_URL)
#   rabbitmq-cluster.sh kill I         SIGKILL node I (1-based): a crash, no clean shutdown
#   rabbitmq-cluster.sh stop-node I    stop node I cleanly
#   rabbitmq-cluster.sh start-node I   start node I again on its data; it rejoins by itself
#
# Environment: AUTHSTREAM_CLUSTER_NAME (default "faults": node names faults1@localhost, ...),
# AUTHSTREAM_CLUSTER_NODES (3), AUTHSTREAM_CLUSTER_PORT (5701: node I listens for AMQP on
# PORT+I-1, management on PORT+10000+I-1, Erlang distribution on PORT+20000+I-1).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME="${AUTHSTREAM_CLUSTER_NAME:-faults}"
NODES="${AUTHSTREAM_CLUSTER_NODES:-3}"
PORT="${AUTHSTREAM_CLUSTER_PORT:-5701}"
BASE="$STATE_DIR/rabbitmq-$NAME"
BIN=/usr/lib/rabbitmq/bin
# As in rabbitmq.sh: schedulers that do not spin, on a machine whose cores everything shares.
ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none"

node_name() { echo "$NAME$1@localhost"; }
amqp_port() { echo $((PORT + $1 - 1)); }

# node_env I: sets ENV, the environment that makes RabbitMQ's scripts and CLI work on node I only.
node_env() {
  local i=$1 dir="$BASE/node$1"
  ENV=(HOME="$BASE/home" \
    RABBITMQ_NODENAME="$(node_name "$i")" \
    RABBITMQ_NODE_PORT="$(amqp_port "$i")" \
    RABBITMQ_DIST_PORT=$((PORT + 20000 + i - 1)) \
    RABBITMQ_CTL_DIST_PORT_MIN=$((PORT + 21000 + 20 * (i - 1))) \
    RABBITMQ_CTL_DIST_PORT_MAX=$((PORT + 21000 + 20 * (i - 1) + 19)) \
    RABBITMQ_CONF_ENV_FILE="$BASE/rabbitmq-env.conf" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_CONFIG_FILES="$dir/conf.d" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$BASE/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" \
    RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_PID_FILE="$dir/rabbitmq.pid" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$ERL_ARGS")
}

ctl() {
  local i=$1; shift; node_env "$i"
  env "${ENV[@]}" "$BIN/rabbitmqctl" -n "$(node_name "$i")" "$@" 2>/dev/null
}

pings() { ctl "$1" ping >/dev/null; }

answers() { port_open 127.0.0.1 "$(amqp_port "$1")"; }

write_config() {
  rm -rf "$BASE"
  mkdir -p "$BASE/home"
  # One cookie for the cluster's nodes and their CLI, not the shared broker's.
  head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$BASE/home/.erlang.cookie"
  chmod 400 "$BASE/home/.erlang.cookie"
  : > "$BASE/rabbitmq-env.conf"
  echo '[rabbitmq_management].' > "$BASE/enabled_plugins"
  local i
  for i in $(seq 1 "$NODES"); do
    mkdir -p "$BASE/node$i"/{conf.d,mnesia,log}
    cat > "$BASE/node$i/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$(amqp_port "$i")
management.tcp.ip = 127.0.0.1
management.tcp.port = $((PORT + 10000 + i - 1))
# Small machine, several nodes: no disk-space alarm from a busy /tmp, modest memory.
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.2
CONF
  done
}

start_node() {
  local i=$1
  if answers "$i"; then return; fi
  [ -d "$BASE/node$i" ] || die "no data for node $i: run '$0 start' first"
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  node_env "$i"
  env "${ENV[@]}" setsid "$BIN/rabbitmq-server" > "$BASE/node$i/log/console.out" 2>&1 < /dev/null &
  # The Erlang node registers a moment after launch; await_startup fails at once before that.
  wait_for "node $(node_name "$i") to register" 60 pings "$i"
  # Boot waits for its cluster peers when it was not the last to stop; that wait is the node's own.
  ctl "$i" await_startup --timeout 180 >/dev/null 2>&1 \
    || { tail -n 20 "$BASE/node$i/log/console.out" >&2; die "node $(node_name "$i") did not start"; }
}

start() {
  [ "$(id -u)" = 0 ] || die "run as root (the nodes write their own data directories)"
  stop_all 2>/dev/null || true
  write_config
  log "starting a $NODES-node RabbitMQ cluster '$NAME' on ports $(amqp_port 1)-$(amqp_port "$NODES")"
  start_node 1
  local i
  for i in $(seq 2 "$NODES"); do
    start_node "$i"
    ctl "$i" stop_app >/dev/null
    ctl "$i" join_cluster "$(node_name 1)" >/dev/null
    ctl "$i" start_app >/dev/null
  done
  log "cluster '$NAME' is up: $(urls)"
}

kill_node() {
  local pid
  pid="$(cat "$BASE/node$1/rabbitmq.pid" 2>/dev/null || true)"
  [ -n "$pid" ] || die "node $1 has no pid file"
  kill -9 "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do ((SECONDS < deadline)) || die "node $1 did not die"; sleep 0.2; done
}

stop_node() { answers "$1" && ctl "$1" shutdown >/dev/null 2>&1 || true; }

stop_all() {
  [ -d "$BASE" ] || return 0
  local i
  for i in $(seq "$NODES" -1 1); do stop_node "$i"; done
}

urls() {
  local i out=()
  for i in $(seq 1 "$NODES"); do out+=("amqp://guest:guest@127.0.0.1:$(amqp_port "$i")/"); done
  (IFS=,; echo "${out[*]}")
}

status() {
  local i
  for i in $(seq 1 "$NODES"); do
    if answers "$i"; then echo "$(node_name "$i"): up (port $(amqp_port "$i"))"
    else echo "$(node_name "$i"): down"; fi
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop_all ;;
  wipe) stop_all; rm -rf "$BASE" ;;
  status) status ;;
  urls) urls ;;
  kill) kill_node "${2:?node number}" ;;
  stop-node) stop_node "${2:?node number}" ;;
  start-node) start_node "${2:?node number}" ;;
  *) die "usage: rabbitmq-cluster.sh start|stop|wipe|status|urls|kill I|stop-node I|start-node I" ;;
esac
