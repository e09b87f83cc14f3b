"""``authstream rabbitmq-definitions``: the broker's users and permissions for this prefix."""

import argparse
import json

from consumers.broker.definitions import definitions
from consumers.core.settings import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(definitions(settings.name_prefix, args.vhost), indent=2))
    return 0


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "rabbitmq-definitions",
        help="print RabbitMQ users and permissions (a publish-only Auth0 user) for this prefix",
    )
    parser.add_argument("--vhost", default="/", help="virtual host (/)")
    parser.set_defaults(handler=run)
