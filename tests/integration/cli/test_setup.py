import asyncio
import logging

import pytest

from consumers.cli.main import main
from consumers.cli.setup import remove_everything
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.store import elastic


async def _inspect(settings: Settings) -> dict[str, object]:
    names = Names(settings.name_prefix)
    async with elastic.connect(settings) as es:
        users = await es.indices.get_alias(name=names.users_alias)
        events_template = await es.indices.get_index_template(name=names.events_stream)
        await es.index(
            index=names.events_stream,
            id="first",
            op_type="create",
            document={"@timestamp": "2026-01-01T00:00:00Z", "event": {"action": "auth.login"}},
            refresh=True,
        )
        backing = await es.indices.get(index=names.events_stream)
        return {
            "users": users.body,
            "events_template": events_template.body,
            "backing": backing.body,
        }


def test_setup_creates_the_users_alias_and_the_events_data_stream(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data stream where the cluster has the data stream API; on the core build (the local
    test node) an index behind an alias of the same name, which tests can delete again."""
    assert main(["setup"]) == 0
    out = capsys.readouterr().out
    found = asyncio.run(_inspect(settings))
    names = Names(settings.name_prefix)

    users = found["users"]
    assert isinstance(users, dict)
    assert list(users) == [names.users_index(1)]
    alias = users[names.users_index(1)]["aliases"][names.users_alias]
    assert alias["is_write_index"] is True
    assert "deleted_at" in str(alias["filter"])  # tombstones are hidden from readers

    template = found["events_template"]["index_templates"][0]["index_template"]  # type: ignore[index]
    assert template["data_stream"] is not None
    assert template["template"]["lifecycle"]["data_retention"] == settings.events_retention

    backing = found["backing"]
    assert isinstance(backing, dict)
    [index] = backing
    if "no data stream API" in out:
        assert index == f"{names.events_stream}-v1"
        assert backing[index]["aliases"][names.events_stream]["is_write_index"] is True
        assert f"created    events index    {names.events_stream}" in out
    else:
        assert index.startswith(f".ds-{names.events_stream}-")
        assert backing[index]["data_stream"] == names.events_stream


def test_a_changed_template_is_updated_and_reported(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["setup"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("AUTHSTREAM_EVENTS_RETENTION", "30d")
    assert main(["setup"]) == 0
    out = capsys.readouterr().out
    assert f"updated    index template  {settings.name_prefix}authstream-events" in out
    assert "Setup complete: 1 change(s)." in out


def test_setup_and_removal_log_no_failing_node_where_the_data_stream_api_is_missing(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The core build answers the data stream endpoints 405, which the client logs as a failing
    node ("has failed for 1 times in a row") at every setup and teardown: expected, so quiet."""
    caplog.set_level(logging.INFO, logger="elastic_transport.node_pool")
    assert main(["setup"]) == 0
    asyncio.run(remove_everything(settings))
    assert [r.getMessage() for r in caplog.records if r.name.startswith("elastic_transport")] == []
