"""Test-side RabbitMQ access with pika (a different client than the product uses, on purpose)."""

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from consumers.broker.leftovers import management_api
from consumers.core.settings import Settings
from tests.helpers import eventually


@contextmanager
def channel(settings: Settings) -> Iterator[BlockingChannel]:
    nodes = [pika.URLParameters(url) for url in settings.amqp_urls()]  # pika tries them in turn
    connection = pika.BlockingConnection(nodes)
    try:
        # With confirms, a test's publish returns once the broker has taken the message: without
        # them one can still be in flight when the test goes on (a parking-lot test waited 20 s
        # for a message its worker never got).
        opened = connection.channel()
        opened.confirm_delivery()
        yield opened
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


@dataclass(frozen=True)
class Depth:
    ready: int  # exact, now (a passive declare)
    consumers: int


def depth(settings: Settings, queue: str) -> Depth:
    with channel(settings) as ch:
        declared = ch.queue_declare(queue, passive=True).method
        return Depth(int(declared.message_count), int(declared.consumer_count))


def message_count(settings: Settings, queue: str) -> int:
    """Messages *ready* in the queue. Messages delivered to a consumer and not yet acknowledged
    are not counted: with consumers attached, 0 here does not mean empty (see ``drained``)."""
    return depth(settings, queue).ready


def drained(settings: Settings, queue: str, timeout: float = 15.0) -> bool:
    """True when the queue holds nothing at all: none ready and none delivered but unacked.

    Exact, so only once its consumers have stopped: their channels closed, the broker has put
    every unacknowledged message back to ready, and ready is everything. It waits for the
    consumers to go (their channels close asynchronously) and fails if they do not."""
    gone = eventually(
        lambda: (found := depth(settings, queue)).consumers == 0 and found,
        timeout=timeout,
        message=f"no consumer left on {queue} (stop the workers before claiming it is drained)",
    )
    return gone.ready == 0


def settled(settings: Settings, queue: str) -> bool:
    """While consumers run: nothing ready (exact) and nothing unacknowledged as far as the
    management API knows. Its statistics lag by up to their interval (5 s), so this is for
    waiting, never the final word: assert ``drained`` after the workers stop."""
    if message_count(settings, queue) != 0:
        return False
    base, credentials, vhost = management_api(settings)
    path = f"/api/queues/{urllib.parse.quote(vhost, safe='')}/{urllib.parse.quote(queue, safe='')}"
    with httpx.Client(base_url=base, auth=credentials, timeout=10) as api:
        figures = api.get(path).raise_for_status().json()
    return figures.get("messages_unacknowledged") == 0 and figures.get("messages_ready") == 0


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
            # A consumer whose channel is closing has "channel_details": [] (management API).
            ours = {
                c["channel_details"]["connection_name"]
                for c in consumers
                if c["queue"]["name"] == consuming_from and isinstance(c["channel_details"], dict)
            }
            connections = [c for c in connections if c["name"] in ours]
        cut = 0
        for connection in connections:
            if (connection.get("client_properties") or {}).get("connection_name") == name:
                quoted = urllib.parse.quote(connection["name"], safe="")
                api.delete(f"/api/connections/{quoted}").raise_for_status()
                cut += 1
        return cut
