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


def test_raw_events_reach_the_index_stage_alone_and_work_requests_their_stage(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHSTREAM_FULLCONTACT_API_KEY", "fc-test-key")
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    with broker.channel(settings) as ch:
        ch.confirm_delivery()
        for kind in ("auth.login", "profile.enriched", "behavior.page_viewed"):
            ch.basic_publish(names.exchange, kind, b"{}")
        ch.basic_publish(names.derived_exchange, "enrich.requested.fullcontact", b"{}")
    assert broker.message_count(settings, names.work_queue("index")) == 3
    assert broker.message_count(settings, names.work_queue("enrich")) == 1


def test_a_stage_that_is_off_gets_no_queue_and_setup_says_why(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["setup"]) == 0
    out = capsys.readouterr().out
    assert "off        enrich          (AUTHSTREAM_FULLCONTACT_API_KEY is not set)" in out
    assert "on         index" in out
    assert f"{settings.name_prefix}authstream.enrich" not in out
    assert not broker.queue_exists(settings, Names(settings.name_prefix).work_queue("enrich"))


def test_setup_reports_what_an_earlier_topology_left_and_prune_removes_it(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHSTREAM_STAGES", "index")  # the segments stage is off here
    names = Names(settings.name_prefix)
    assert main(["setup"]) == 0
    old_queue = names.work_queue("segments")
    with broker.channel(settings) as ch:  # the fan-out of an earlier version
        ch.queue_declare(old_queue, durable=True, arguments={"x-queue-type": "quorum"})
        ch.queue_bind(old_queue, names.exchange, "auth.#")
        ch.queue_bind(names.work_queue("index"), names.exchange, "auth.login")
        ch.confirm_delivery()
        ch.basic_publish(names.exchange, "auth.signup", b"{}")
    capsys.readouterr()

    assert main(["setup"]) == 0
    out = capsys.readouterr().out
    assert f"leftover   queue           {old_queue} (1 messages, 0 consumers)" in out
    assert (
        f"leftover   binding         {names.exchange} → {names.work_queue('index')} (auth.login)"
        in out
    )
    assert "Remove them with `authstream setup --prune`" in out
    assert broker.queue_exists(settings, old_queue)  # reported, not removed

    assert main(["setup", "--prune"]) == 0
    assert f"removed    queue           {old_queue}" in capsys.readouterr().out
    assert not broker.queue_exists(settings, old_queue)
    assert main(["setup"]) == 0
    assert "leftover" not in capsys.readouterr().out
    with broker.channel(settings) as ch:
        ch.confirm_delivery()
        ch.basic_publish(names.exchange, "auth.login", b"{}")
    # One copy: the stale binding is gone, only "#" routes it.
    assert broker.message_count(settings, names.work_queue("index")) == 2


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
