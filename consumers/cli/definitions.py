"""``authstream rabbitmq-definitions``: the broker's users and permissions for this prefix."""

import argparse
import json

from consumers.broker.definitions import definitions
from consumers.broker.link import vhost_of
from consumers.core.settings import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    # The vhost the processes connect to, unless told otherwise: the users must be allowed there.
    vhost = args.vhost or vhost_of(settings.amqp_urls()[0])
    print(json.dumps(definitions(settings.name_prefix, vhost), indent=2))
    return 0


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "rabbitmq-definitions",
        help="print RabbitMQ users and permissions (a publish-only Auth0 user) for this prefix",
    )
    parser.add_argument(
        "--vhost", default=None, help="virtual host (default: AUTHSTREAM_AMQP_URL's, else /)"
    )
    parser.set_defaults(handler=run)
