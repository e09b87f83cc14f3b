"""`authstream dlq` against a parking lot filled by the real indexer."""

import pika

from consumers.broker.failures import ERROR
from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import dumps, envelope, eventually
from tests.workers import running


def park_bad_input(settings: Settings) -> None:
    """Two poison messages through the real indexer, so the parking lot holds real failures."""
    names = Names(settings.name_prefix)
    with broker.channel(settings) as ch:
        ch.basic_publish(
            names.exchange, "auth.login", b"not json", pika.BasicProperties(message_id="m-1")
        )
        wrong_version = envelope(schema="authstream.event/9", user={"user_id": "auth0|v9"})
        ch.basic_publish(
            names.exchange,
            "auth.login",
            dumps(wrong_version),
            pika.BasicProperties(message_id=wrong_version["event_id"]),
        )
    with running(settings):
        eventually(lambda: broker.message_count(settings, names.parking_lot("index")) == 2)


def test_list_shows_why_without_consuming(settings: Settings, capsys) -> None:
    assert main(["setup"]) == 0
    park_bad_input(settings)
    capsys.readouterr()
    assert main(["dlq", "list"]) == 0
    out = capsys.readouterr().out
    assert "2 parked message(s)" in out
    assert "m-1" in out and "Invalid JSON" in out
    assert "auth0|v9" in out and "auth.login" in out and "authstream.event/9" in out
    parked = Names(settings.name_prefix).parking_lot("index")
    assert broker.message_count(settings, parked) == 2  # listing consumed nothing

    assert main(["dlq", "list", "--limit", "1"]) == 0
    assert "showing the first 1" in capsys.readouterr().out


def test_purge_needs_yes(settings: Settings, capsys) -> None:
    assert main(["setup"]) == 0
    park_bad_input(settings)
    parked = Names(settings.name_prefix).parking_lot("index")
    assert main(["dlq", "purge"]) == 2
    assert "holds 2 message(s)" in capsys.readouterr().err
    assert broker.message_count(settings, parked) == 2
    assert main(["dlq", "purge", "--yes"]) == 0
    assert "deleted 2 message(s)" in capsys.readouterr().out
    assert broker.message_count(settings, parked) == 0


def test_replay_puts_messages_back_on_the_work_queue_and_they_are_indexed(
    settings: Settings, capsys
) -> None:
    """A message parked while, say, a mapping was wrong is indexed once replayed."""
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    event = envelope(type="auth.signup", user={"user_id": "auth0|replayed"})
    with broker.channel(settings) as ch:
        ch.basic_publish(
            "",
            names.parking_lot("index"),
            dumps(event),
            pika.BasicProperties(
                message_id=event["event_id"],
                delivery_mode=2,
                headers={ERROR: "Elasticsearch rejected the document", "x-authstream-attempts": 5},
            ),
        )
    assert main(["dlq", "replay"]) == 0
    assert "replayed 1 message(s)" in capsys.readouterr().out
    assert broker.message_count(settings, names.parking_lot("index")) == 0
    [(_, properties, body)] = broker.drain(settings, names.work_queue("index"))
    assert body == dumps(event)
    assert ERROR not in properties.headers and properties.headers["x-authstream-replayed"] == 1
    with broker.channel(settings) as ch:
        ch.basic_publish("", names.work_queue("index"), body, properties)
    with running(settings):
        eventually(lambda: search.profile(settings, "auth0|replayed"), message="replayed profile")
    assert search.count_events(settings, **{"user.id": "auth0|replayed"}) == 1
