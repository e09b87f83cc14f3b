"""``authstream check`` probes every node of a cluster list, not just the first that answers."""

import socket

import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # free, and nobody listens on it after the block


def test_a_cluster_with_a_node_down_is_reported_degraded_and_still_up(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broker_down, search_down = _dead_port(), _dead_port()
    live_broker = settings.amqp_urls()[0]
    monkeypatch.setenv(
        "AUTHSTREAM_AMQP_URL",
        f"{live_broker},amqp://guest:s3cret-Pa55@127.0.0.1:{broker_down}/",
    )
    monkeypatch.setenv(
        "AUTHSTREAM_ELASTICSEARCH_URL",
        f"http://127.0.0.1:{search_down},{settings.elasticsearch_url}",
    )

    assert main(["check"]) == 0  # the service answers: a liveness probe must not fail

    out, err = capsys.readouterr()
    assert out.startswith("ok, degraded: RabbitMQ amqp://guest:***@")
    assert "(1 of 2 nodes)" in out
    assert f"RabbitMQ node amqp://guest:***@127.0.0.1:{broker_down}/ does not answer" in err
    assert f"Elasticsearch node http://127.0.0.1:{search_down} does not answer" in err
    assert "s3cret-Pa55" not in out + err


def test_every_node_answering_is_plain_ok(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = settings.amqp_urls()[0]
    monkeypatch.setenv("AUTHSTREAM_AMQP_URL", f"{live},{live}")

    assert main(["check"]) == 0

    out, err = capsys.readouterr()
    assert out.startswith("ok: RabbitMQ ")
    assert "(2 of 2 nodes)" in out
    assert "warning" not in err


def test_no_node_answering_is_unavailable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    down = [_dead_port(), _dead_port()]
    monkeypatch.setenv(
        "AUTHSTREAM_AMQP_URL", ",".join(f"amqp://guest:guest@127.0.0.1:{p}/" for p in down)
    )

    assert main(["check"]) == 3

    out, err = capsys.readouterr()
    assert "ok" not in out
    assert "unreachable" in err
