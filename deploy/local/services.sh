#!/usr/bin/env bash
# Start (or stop) the real services authstream needs, on this machine, without Docker.
#   services.sh start | stop | status | reset
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
here="$(dirname "${BASH_SOURCE[0]}")"

case "${1:-start}" in
  start)
    bash "$here/rabbitmq.sh" start
    bash "$here/elasticsearch.sh" start
    cat <<URLS
Services are up. authstream's defaults already point at them:
  AUTHSTREAM_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/
  AUTHSTREAM_ELASTICSEARCH_URL=http://127.0.0.1:9200
  RabbitMQ management: http://127.0.0.1:15672/ (guest/guest)
URLS
    ;;
  stop) bash "$here/elasticsearch.sh" stop; bash "$here/rabbitmq.sh" stop ;;
  # Everything the services hold goes: for a broker or node worn out by a long test day.
  reset) bash "$here/rabbitmq.sh" reset; bash "$here/elasticsearch.sh" reset ;;
  status) bash "$here/rabbitmq.sh" status; bash "$here/elasticsearch.sh" status ;;
  *) die "usage: services.sh start|stop|status|reset" ;;
esac
