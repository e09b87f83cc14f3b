import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker


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


def test_setup_declares_bindings_that_route_events_to_the_right_stages(settings: Settings) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    with broker.channel(settings) as ch:
        ch.confirm_delivery()
        ch.basic_publish(names.exchange, "profile.enriched", b"{}")
    assert broker.message_count(settings, names.work_queue("index")) == 1
    assert broker.message_count(settings, names.work_queue("sentiment")) == 1
    assert broker.message_count(settings, names.work_queue("enrich")) == 0


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


def test_classic_queue_type_is_allowed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSTREAM_QUEUE_TYPE", "classic")
    assert main(["setup"]) == 0
