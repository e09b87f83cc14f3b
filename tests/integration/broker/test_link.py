"""The pika link the per-message paths use, against the real RabbitMQ."""

import asyncio
import socket

import orjson
import pytest
from pika.spec import BasicProperties
from pydantic import SecretStr

from consumers.broker import link
from consumers.broker.link import Delivery, open_confirm_channel
from consumers.cli.setup import run_setup
from consumers.core.errors import BrokerUnavailable, ConfigurationError, PublishRefused
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker
from tests.helpers import eventually


def _properties(message_id: str) -> BasicProperties:
    return BasicProperties(
        delivery_mode=2, message_id=message_id, headers={"authstream-source": "app"}
    )


async def _collect(settings: Settings, queue: str, count: int) -> list[Delivery]:
    connection = await link.open_connection(settings, "test consumer")
    try:
        got: list[Delivery] = []
        all_there = asyncio.Event()

        def deliver(delivery: Delivery) -> None:
            got.append(delivery)
            if len(got) == count:
                all_there.set()

        consumer = await link.consume(connection, queue, 10, deliver, settings.amqp_url_redacted)
        await asyncio.wait_for(all_there.wait(), 10)
        consumer.ack_through(got[-1].delivery_tag)
        return got
    finally:
        await link.close_connection(connection)


def test_confirmed_messages_arrive_with_their_routing_key_properties_and_body(
    settings: Settings,
) -> None:
    names = Names(settings.name_prefix)

    async def scenario() -> list[Delivery]:
        await run_setup(settings)
        async with open_confirm_channel(settings, name="test", exchange=names.exchange) as channel:
            await asyncio.gather(
                *(
                    channel.publish(
                        names.exchange, "auth.login", orjson.dumps({"n": n}), _properties(f"e{n}")
                    )
                    for n in range(3)
                )
            )
        return await _collect(settings, names.work_queue("index"), 3)

    deliveries = asyncio.run(scenario())
    assert [orjson.loads(d.body) for d in deliveries] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [d.properties.message_id for d in deliveries] == ["e0", "e1", "e2"]
    assert {d.routing_key for d in deliveries} == {"auth.login"}
    assert deliveries[0].properties.headers == {"authstream-source": "app"}
    assert deliveries[0].properties.delivery_mode == 2
    # Acked with one multiple ack: nothing is left for anyone else.
    assert broker.drained(settings, names.work_queue("index"))


def test_an_unroutable_message_is_refused_with_the_reason_and_its_neighbours_are_not(
    settings: Settings,
) -> None:
    names = Names(settings.name_prefix)

    async def scenario() -> list[BaseException | None]:
        await run_setup(settings)
        async with open_confirm_channel(settings, name="test", exchange=names.exchange) as channel:
            return await asyncio.gather(
                channel.publish("", names.work_queue("index"), b"{}", _properties("first")),
                channel.publish("", "no-such-queue", b"{}", _properties("lost")),
                channel.publish("", names.work_queue("index"), b"{}", _properties("last")),
                return_exceptions=True,
            )

    first, lost, last = asyncio.run(scenario())
    assert first is None and last is None
    assert isinstance(lost, PublishRefused)
    assert "no queue is bound for routing key 'no-such-queue'" in str(lost)
    assert broker.message_count(settings, names.work_queue("index")) == 2


def test_a_cut_connection_closes_the_channel_and_later_publishes_fail_as_unavailable(
    settings: Settings,
) -> None:
    names = Names(settings.name_prefix)
    name = f"test cut {settings.name_prefix}"

    async def scenario() -> BaseException | None:
        await run_setup(settings)
        async with open_confirm_channel(settings, name=name, exchange=names.exchange) as channel:
            await channel.publish(names.exchange, "auth.login", b"{}", _properties("before"))
            # The management API lists a new connection after its next stats round.
            cut = await asyncio.to_thread(
                eventually,
                lambda: broker.cut_connections(settings, name),
                message="the connection to cut",
            )
            assert cut == 1
            await asyncio.wait_for(channel.closed.wait(), 10)
            assert not channel.is_open
            answers = await asyncio.gather(
                channel.publish(names.exchange, "auth.login", b"{}", _properties("after")),
                return_exceptions=True,
            )
            return answers[0]

    after = asyncio.run(scenario())
    assert isinstance(after, BrokerUnavailable)
    assert broker.message_count(settings, names.work_queue("index")) == 1


def test_wrong_credentials_are_a_configuration_error_that_never_shows_the_password(
    settings: Settings,
) -> None:
    wrong = settings.model_copy(
        update={"amqp_url": SecretStr("amqp://guest:not-the-Pa55word@127.0.0.1:5672/")}
    )
    with pytest.raises(ConfigurationError) as raised:
        asyncio.run(link.open_connection(wrong, "test"))
    assert "rejected the credentials" in str(raised.value)
    assert "not-the-Pa55word" not in str(raised.value)


def test_a_broker_that_is_not_there_is_unavailable(settings: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nobody listens on it after the block
    nowhere = settings.model_copy(
        update={"amqp_url": SecretStr(f"amqp://guest:guest@127.0.0.1:{port}/")}
    )
    with pytest.raises(BrokerUnavailable) as raised:
        asyncio.run(link.open_connection(nowhere, "test"))
    assert "unreachable" in str(raised.value)


def test_consuming_a_queue_that_was_never_declared_says_to_run_setup(settings: Settings) -> None:
    async def scenario() -> None:
        connection = await link.open_connection(settings, "test consumer")
        try:
            await link.consume(
                connection, "no-such-queue-" + settings.name_prefix, 1, print, "here"
            )
        finally:
            await link.close_connection(connection)

    with pytest.raises(ConfigurationError) as info:
        asyncio.run(scenario())
    assert "no-such-queue-" in str(info.value)
    assert "run `authstream setup` first" in str(info.value)


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"amqp://guest:guest@127.0.0.1:{s.getsockname()[1]}/"


def test_a_list_of_nodes_is_tried_in_turn_until_one_answers(settings: Settings) -> None:
    """A cluster's URLs, one node down: every connection finds a node that answers, whichever
    node each process starts from (the order is spread at random)."""
    live = settings.amqp_urls()[0]
    cluster = settings.model_copy(update={"amqp_url": SecretStr(f"{_dead_url()},{live}")})

    async def connect_and_close() -> None:
        connection = await link.open_connection(cluster, "test fail-over")
        assert connection.is_open
        await link.close_connection(connection)

    for _ in range(6):  # both starting points are taken with near certainty
        asyncio.run(connect_and_close())

    async def topology() -> None:
        from consumers.broker import admin

        async with admin.connect(cluster, name="test fail-over admin") as connection:
            assert not connection.is_closed

    asyncio.run(topology())


def test_when_no_node_answers_the_error_names_every_node_without_passwords(
    settings: Settings,
) -> None:
    nowhere = settings.model_copy(
        update={"amqp_url": SecretStr(f"{_dead_url()},{_dead_url().replace('guest@', 'Pa55-x@')}")}
    )
    with pytest.raises(BrokerUnavailable) as raised:
        asyncio.run(link.open_connection(nowhere, "test"))
    assert "no RabbitMQ node answered (2 tried)" in str(raised.value)
    assert "Pa55-x" not in str(raised.value)
