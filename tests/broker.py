"""Test-side RabbitMQ access with pika (a different client than the product uses, on purpose)."""

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from consumers.broker.leftovers import management_api
from consumers.core.settings import Settings


@contextmanager
def channel(settings: Settings) -> Iterator[BlockingChannel]:
    nodes = [pika.URLParameters(url) for url in settings.amqp_urls()]  # pika tries them in turn
    connection = pika.BlockingConnection(nodes)
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


def queue_exists(settings: Settings, queue: str) -> bool:
    with channel(settings) as ch:
        try:
            ch.queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                return False
            raise
        return True


def message_count(settings: Settings, queue: str) -> int:
    with channel(settings) as ch:
        return int(ch.queue_declare(queue, passive=True).method.message_count)


def management(settings: Settings) -> httpx.Client:
    """RabbitMQ's HTTP API for these settings (the ``settings`` fixture points it at the broker
    the tests use, local or in a container)."""
    base, credentials, _ = management_api(settings)
    return httpx.Client(base_url=base, auth=credentials, timeout=10)


def cut_connections(settings: Settings, name: str, consuming_from: str | None = None) -> int:
    """Close every client connection called ``name`` from the broker's side (management API);
    with ``consuming_from``, only those consuming from that queue: other tests on the same broker
    run processes with the same connection names, and theirs are not ours to cut."""
    with management(settings) as api:
        connections = api.get("/api/connections").raise_for_status().json()
        if consuming_from is not None:
            consumers = api.get("/api/consumers").raise_for_status().json()
            ours = {
                c["channel_details"]["connection_name"]
                for c in consumers
                if c["queue"]["name"] == consuming_from
            }
            connections = [c for c in connections if c["name"] in ours]
        cut = 0
        for connection in connections:
            if (connection.get("client_properties") or {}).get("connection_name") == name:
                quoted = urllib.parse.quote(connection["name"], safe="")
                api.delete(f"/api/connections/{quoted}").raise_for_status()
                cut += 1
        return cut
