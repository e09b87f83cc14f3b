import pytest

from consumers.cli import main
from consumers.names import Names
from consumers.settings import Settings
from consumers.topology import STAGE_ROUTES, build_topology
from tests import broker


def test_every_stage_has_a_work_queue_retry_queues_and_a_parking_lot() -> None:
    settings = Settings(name_prefix="x-", retry_delays_ms=[1000, 60000], delivery_limit=7)
    names = Names("x-")
    queues = {q.name: q for q in build_topology(settings).queues}
    for stage in STAGE_ROUTES:
        work = queues[names.work_queue(stage)]
        assert work.arguments["x-queue-type"] == "quorum"
        assert work.arguments["x-delivery-limit"] == 7
        assert work.arguments["x-dead-letter-routing-key"] == names.parking_lot(stage)
        assert work.routing_keys == STAGE_ROUTES[stage]
        retry = queues[names.retry_queue(stage, 60000)]
        assert retry.arguments["x-message-ttl"] == 60000
        assert retry.arguments["x-dead-letter-routing-key"] == work.name
        assert queues[names.parking_lot(stage)].routing_keys == ()
    assert names.retry_queue("index", 60000) == "x-authstream.index.retry.1m"


def test_classic_queues_have_no_delivery_limit() -> None:
    topology = build_topology(Settings(queue_type="classic"))
    assert all("x-delivery-limit" not in q.arguments for q in topology.queues)
    assert all(q.arguments["x-queue-type"] == "classic" for q in topology.queues)


@pytest.mark.integration
def test_setup_twice_reports_no_changes_the_second_time(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["setup"]) == 0
    first = capsys.readouterr().out
    assert f"created    queue           {settings.name_prefix}authstream.index\n" in first
    assert "Setup complete" in first

    assert main(["setup"]) == 0
    second = capsys.readouterr().out
    assert "No changes: everything was already in place." in second
    assert " created " not in second


@pytest.mark.integration
def test_setup_declares_bindings_that_route_events_to_the_right_stages(settings: Settings) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    with broker.channel(settings) as ch:
        ch.confirm_delivery()
        ch.basic_publish(names.exchange, "profile.enriched", b"{}")
    assert broker.message_count(settings, names.work_queue("index")) == 1
    assert broker.message_count(settings, names.work_queue("sentiment")) == 1
    assert broker.message_count(settings, names.work_queue("enrich")) == 0


@pytest.mark.integration
def test_a_conflicting_queue_gets_a_clear_message(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = Names(settings.name_prefix)
    with broker.channel(settings) as ch:  # someone declared it by hand, as a classic queue
        ch.queue_declare(names.work_queue("index"), durable=True)
    try:
        assert main(["setup"]) == 2
        err = capsys.readouterr().err
        assert f"queue '{names.work_queue('index')}' already exists with a different" in err
        assert "Traceback" not in err
    finally:
        with broker.channel(settings) as ch:
            ch.queue_delete(names.work_queue("index"))


@pytest.mark.integration
def test_classic_queue_type_is_allowed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSTREAM_QUEUE_TYPE", "classic")
    assert main(["setup"]) == 0
