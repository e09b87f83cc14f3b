"""Test-side RabbitMQ access with pika (a different client than the product uses, on purpose)."""

from collections.abc import Iterator
from contextlib import contextmanager

import pika
from pika.adapters.blocking_connection import BlockingChannel

from consumers.settings import Settings


@contextmanager
def channel(settings: Settings) -> Iterator[BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url.get_secret_value()))
    try:
        yield connection.channel()
    finally:
        connection.close()


def drain(
    settings: Settings, queue: str
) -> list[tuple[pika.spec.Basic.GetOk, pika.BasicProperties, bytes]]:
    """Take every message currently in ``queue`` (acked)."""
    taken = []
    with channel(settings) as ch:
        while True:
            method, properties, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                return taken
            taken.append((method, properties, body))


def message_count(settings: Settings, queue: str) -> int:
    with channel(settings) as ch:
        return int(ch.queue_declare(queue, passive=True).method.message_count)
