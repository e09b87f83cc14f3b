"""A long-lived broker through a long test day: many throwaway namespaces, each filled with
messages, alive at once, then removed. The local broker once stopped answering AMQP handshakes
while it held 675,000 messages in 323 quorum queues that interrupted runs had left behind; this
scenario keeps a private node (the one the suite restarts) busy the same way and checks that it
keeps answering quickly, and that removing the namespaces leaves nothing behind.
"""

import asyncio
import time
import uuid

import httpx
import pika

from consumers.cli.setup import remove_everything, run_setup
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests.faults.conftest import PrivateCluster

NAMESPACES = 15
MESSAGES = 1_000  # per namespace, into its index queue
HANDSHAKE_LIMIT_S = 2.0


def _handshake_s(url: str) -> float:
    started = time.perf_counter()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.close()
    return time.perf_counter() - started


def _queues(management: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{management}/api/queues", auth=("guest", "guest"), timeout=30)
    return list(answer.raise_for_status().json())


def _depth(url: str, queue: str) -> int:
    """Messages in a queue as the broker counts them now (the management API lags by seconds)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def _fill(url: str, exchange: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    body = b'{"schema": "authstream.event/1"}'
    for n in range(MESSAGES):
        channel.basic_publish(exchange, "auth.login", body, pika.BasicProperties(message_id=str(n)))
    connection.close()


def test_many_namespaces_full_of_messages_keep_the_broker_answering_and_leave_nothing(
    rabbitmq_solo: PrivateCluster,
) -> None:
    url = rabbitmq_solo.urls
    management = "http://127.0.0.1:15711"
    before = {str(q["name"]) for q in _queues(management)}
    made: list[Settings] = []
    handshakes = []
    try:
        for _ in range(NAMESPACES):
            settings = Settings(
                amqp_url=url,
                rabbitmq_management_url=management,
                name_prefix=f"h{uuid.uuid4().hex[:8]}-",
                stages="index,segments",
            )
            made.append(settings)
            asyncio.run(run_setup(settings))
            _fill(url, Names(settings.name_prefix).exchange)
            handshakes.append(_handshake_s(url))
        held = sum(_depth(url, Names(s.name_prefix).work_queue("index")) for s in made)
        print(f"broker hygiene: {len(made)} namespaces, handshakes max {max(handshakes):.2f} s")
    finally:
        for settings in made:
            asyncio.run(remove_everything(settings))
    assert max(handshakes) < HANDSHAKE_LIMIT_S, handshakes
    assert held >= NAMESPACES * MESSAGES  # every message was there while the handshakes were timed
    after = {str(q["name"]) for q in _queues(management)}
    assert after == before, f"left behind: {sorted(after - before)[:10]}"
    assert _handshake_s(url) < HANDSHAKE_LIMIT_S
