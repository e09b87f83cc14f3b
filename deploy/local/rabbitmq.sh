#!/usr/bin/env bash
# Local RabbitMQ from Debian's rabbitmq-server package, on 127.0.0.1:5672
# (management UI/API on 127.0.0.1:15672, Prometheus metrics on 127.0.0.1:15692).
# Idempotent: reuses a broker that already answers, installs the package only when it is missing.
#   rabbitmq.sh start | stop | status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

AMQP_PORT=5672
MGMT_PORT=15672
PROMETHEUS_PORT=15692
MARKER="$STATE_DIR/rabbitmq.started"
# Erlang schedulers spin while waiting for work. On a box whose cores the broker shares with
# Elasticsearch and the workers, that spinning takes CPU from them (BENCHMARKS.md): turn it off.
ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none"

start() {
  if port_open 127.0.0.1 $AMQP_PORT; then
    log "RabbitMQ already answers on 127.0.0.1:$AMQP_PORT: reusing it"
    return
  fi
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  # Loopback only; the management plugin (HTTP API used by operators and tests) and the
  # Prometheus plugin (per-queue depth and consumers, scraped in the operations tests).
  as_root mkdir -p /etc/rabbitmq/conf.d
  as_root tee /etc/rabbitmq/conf.d/50-authstream.conf >/dev/null <<CONF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $MGMT_PORT
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $PROMETHEUS_PORT
CONF
  as_root rabbitmq-plugins enable --offline rabbitmq_management rabbitmq_prometheus >/dev/null
  log "starting RabbitMQ"
  # The Debian wrapper drops to the rabbitmq user; there is no init system to ask here.
  as_root env RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$ERL_ARGS" \
    setsid /usr/sbin/rabbitmq-server >/dev/null 2>&1 < /dev/null &
  touch "$MARKER"
  wait_for "RabbitMQ" 120 port_open 127.0.0.1 $AMQP_PORT
  as_root rabbitmqctl await_startup --timeout 120 >/dev/null
  wait_for "RabbitMQ management" 60 port_open 127.0.0.1 $MGMT_PORT
  log "RabbitMQ is up"
}

stop() {
  if [ ! -f "$MARKER" ]; then
    log "RabbitMQ was not started by these scripts: leaving it alone"
    return
  fi
  log "stopping RabbitMQ"
  as_root rabbitmqctl shutdown >/dev/null 2>&1 || true
  rm -f "$MARKER"
}

# Wipe the broker's state: every queue, exchange, binding and message (users and vhosts go back to
# the defaults). A broker that no longer answers its CLI (the wedge of a long test day: hundreds of
# quorum queues full of messages left by interrupted runs) is killed and its data directory wiped.
reset() {
  if ! port_open 127.0.0.1 $AMQP_PORT && ! as_root timeout 20 rabbitmqctl ping >/dev/null 2>&1; then
    log "RabbitMQ is not running: starting it fresh"
    start
    return
  fi
  log "resetting RabbitMQ (every queue, exchange and message goes)"
  if as_root timeout 120 rabbitmqctl stop_app >/dev/null 2>&1 \
    && as_root timeout 120 rabbitmqctl reset >/dev/null 2>&1 \
    && as_root timeout 120 rabbitmqctl start_app >/dev/null 2>&1; then
    as_root rabbitmqctl await_startup --timeout 120 >/dev/null
    log "RabbitMQ reset"
    return
  fi
  log "RabbitMQ does not answer its CLI: killing it and wiping its data directory"
  local mnesia=/var/lib/rabbitmq/mnesia pid
  pid="$(cat "$mnesia/rabbit@$(hostname -s).pid" 2>/dev/null || true)"
  [ -n "$pid" ] && as_root kill -9 "$pid" 2>/dev/null || true
  wait_for "RabbitMQ to go" 60 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$AMQP_PORT) 2>/dev/null"
  as_root find "$mnesia" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  start
}

status() {
  if port_open 127.0.0.1 $AMQP_PORT; then echo "rabbitmq: up (amqp://guest:guest@127.0.0.1:$AMQP_PORT/)"; else echo "rabbitmq: down"; fi
}

"${1:-start}"
