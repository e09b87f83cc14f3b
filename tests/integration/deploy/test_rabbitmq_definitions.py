"""The broker definitions: the Auth0 user can publish logins and signups and do nothing else.

The users, permissions and topic permissions (``consumers.broker.definitions``, as in
deploy/rabbitmq/definitions.json, for no prefix and for a prefix) are created on the real broker in
a throwaway vhost (same regexes, own user names and passwords), then exercised with a real client.
"""

import asyncio
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pika
import pika.exceptions
import pytest
from pydantic import SecretStr

import tests.broker
from consumers.broker import admin, parking_lot
from consumers.broker.definitions import auth0_user, definitions, worker_user
from consumers.broker.topology import declare_topology
from consumers.cli.setup import topology_for
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.stages.catalog import CATALOG


@pytest.fixture(params=["", "acme-"])
def broker(settings: Settings, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    prefix: str = request.param
    found = definitions(prefix)
    url = urlsplit(settings.amqp_url.get_secret_value())
    operator = (url.username or "guest", url.password or "guest")
    vhost = f"authstream-test-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:6]
    users = {p["user"]: f"t{tag}-{p['user']}" for p in found["permissions"]}
    password = uuid.uuid4().hex
    with tests.broker.management(settings) as api:
        api.put(f"/api/vhosts/{vhost}").raise_for_status()
        everything = {"configure": ".*", "write": ".*", "read": ".*"}
        api.put(f"/api/permissions/{vhost}/{operator[0]}", json=everything).raise_for_status()
        for permission in found["permissions"]:
            name = users[permission["user"]]
            api.put(
                f"/api/users/{name}", json={"password": password, "tags": ""}
            ).raise_for_status()
            rules = {k: permission[k] for k in ("configure", "write", "read")}
            api.put(f"/api/permissions/{vhost}/{name}", json=rules).raise_for_status()
        for topic in found["topic_permissions"]:
            rules = {k: topic[k] for k in ("exchange", "write", "read")}
            name = users[topic["user"]]
            api.put(f"/api/topic-permissions/{vhost}/{name}", json=rules).raise_for_status()
        where = f"{url.hostname}:{url.port}/{quote(vhost, safe='')}"
        try:
            yield {
                "prefix": prefix,
                "admin": f"amqp://{operator[0]}:{operator[1]}@{where}",
                "auth0": f"amqp://{users[auth0_user(prefix)]}:{password}@{where}",
                "worker": f"amqp://{users[worker_user(prefix)]}:{password}@{where}",
            }
        finally:
            api.delete(f"/api/vhosts/{vhost}")
            for name in users.values():
                api.delete(f"/api/users/{name}")


def refused(action) -> bool:
    try:
        action()
    except pika.exceptions.ChannelClosedByBroker as exc:
        return exc.reply_code == 403
    return False


def confirmed(connection: pika.BlockingConnection):  # type: ignore[no-untyped-def]
    """A channel whose publishes wait for the broker, so a refusal surfaces right away."""
    channel = connection.channel()
    channel.confirm_delivery()
    return channel


def test_the_auth0_user_publishes_logins_and_signups_and_nothing_else(broker) -> None:
    names = Names(broker["prefix"])
    admin = pika.BlockingConnection(pika.URLParameters(broker["admin"]))
    setup = admin.channel()
    setup.exchange_declare(names.exchange, "topic", durable=True)
    setup.queue_declare(names.work_queue("index"), durable=True)
    setup.queue_bind(names.work_queue("index"), names.exchange, "#")

    auth0 = pika.BlockingConnection(pika.URLParameters(broker["auth0"]))
    try:
        channel = auth0.channel()
        channel.confirm_delivery()
        channel.exchange_declare(names.exchange, passive=True)  # what checkExchange does
        for kind in ("auth.login", "auth.signup"):
            channel.basic_publish(
                names.exchange, kind, b"{}", pika.BasicProperties(delivery_mode=2)
            )
        queue = names.work_queue("index")
        assert setup.queue_declare(queue, passive=True).method.message_count == 2

        # A leaked Action secret cannot erase users, fake findings or trigger webhooks...
        for forged in (
            "user.deleted",
            "profile.sentiment",
            "profile.enriched",
            "segment.preorder-running-men.entered",
            "behavior.purchase",
        ):
            assert refused(
                lambda k=forged: confirmed(auth0).basic_publish(names.exchange, k, b"{}")
            ), forged
        assert setup.queue_declare(queue, passive=True).method.message_count == 2
        # ... nor read, bind, declare, or publish anywhere else.
        assert refused(lambda: auth0.channel().basic_get(queue))
        assert refused(lambda: auth0.channel().queue_bind(queue, names.exchange))
        assert refused(lambda: auth0.channel().queue_declare("sneaky", durable=True))
        assert refused(lambda: auth0.channel().exchange_declare("sneaky", "fanout"))
        assert refused(lambda: confirmed(auth0).basic_publish("amq.topic", "x", b"{}"))
        other = Names("" if broker["prefix"] else "acme-").exchange  # another installation's
        setup.exchange_declare(other, "topic", durable=True)
        try:
            assert refused(lambda: confirmed(auth0).basic_publish(other, "auth.login", b"{}"))
        finally:
            setup.exchange_delete(other)
    finally:
        auth0.close()
        admin.close()


def test_the_worker_user_can_declare_the_topology_consume_retry_and_replay(
    broker, settings: Settings
) -> None:
    """What the stages do on the broker, done by the product's own code as the worker user."""
    worker = settings.model_copy(
        update={"amqp_url": SecretStr(broker["worker"]), "name_prefix": broker["prefix"]}
    )

    async def declare() -> None:
        async with admin.connect(worker) as connection:
            await declare_topology(connection, topology_for(worker, list(CATALOG.values())))

    asyncio.run(declare())
    names = Names(broker["prefix"])
    with pika.BlockingConnection(pika.URLParameters(broker["worker"])) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(names.exchange, "auth.login", b"{}")
        # The index stage publishes derived events for the others.
        channel.basic_publish(names.derived_exchange, "enrich.requested.fullcontact", b"{}")
        assert channel.basic_get(names.work_queue("enrich"), auto_ack=True)[0] is not None
        method, _, body = channel.basic_get(names.work_queue("index"), auto_ack=False)
        assert method is not None and body == b"{}"
        # Retries and the parking lot go through the default exchange.
        channel.basic_publish("", names.parking_lot("index"), body)
        channel.basic_ack(method.delivery_tag)
    assert asyncio.run(parking_lot.replay(worker, "index", None)) == 1
