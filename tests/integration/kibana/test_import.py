"""`authstream kibana import` through the saved objects API (a local stand-in of Kibana's)."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.kibana import client
from consumers.kibana.objects import builtin_segments, saved_objects
from tests.helpers import REPO_ROOT
from tests.standins import KibanaStandIn

SHIPPED = REPO_ROOT / "deploy" / "kibana" / "authstream.ndjson"


@pytest.fixture
def kibana() -> Iterator[KibanaStandIn]:
    with KibanaStandIn() as standin:
        yield standin


def expected(settings: Settings) -> set[tuple[str, str]]:
    objects = saved_objects(Names(settings.name_prefix), builtin_segments())
    return {(o["type"], o["id"]) for o in objects}


def test_every_object_imports_and_can_be_read_back(
    settings: Settings, kibana: KibanaStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kibana", "import", "--url", kibana.base_url]) == 0
    assert set(kibana.spaces["default"]) == expected(settings)
    [call] = kibana.requests_to("/api/saved_objects/_import", "POST")
    assert call.headers["kbn-xsrf"] and call.query == {"overwrite": "true"}
    board = kibana.saved("dashboard", f"{settings.name_prefix}authstream-dashboard")
    assert board is not None and board["attributes"]["title"] == "authstream: customers"
    out = capsys.readouterr().out
    assert "imported into Kibana at" in out and "1 dashboard, 2 index-pattern, 12 lens" in out
    assert f"/app/dashboards#/view/{settings.name_prefix}authstream-dashboard" in out

    # Again: the objects are updated in place.
    assert main(["kibana", "import", "--url", kibana.base_url]) == 0
    # Unless told to keep what is there: then each is a conflict, reported, exit 1.
    assert main(["kibana", "import", "--url", kibana.base_url, "--keep-existing"]) == 1
    err = capsys.readouterr().err
    assert f"dashboard {settings.name_prefix}authstream-dashboard: already exists" in err


def test_the_shipped_file_imports_into_a_space(
    settings: Settings, kibana: KibanaStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["kibana", "import", "--url", kibana.base_url, "--file", str(SHIPPED)]
    assert main([*argv, "--space", "marketing"]) == 0
    assert len(kibana.spaces["marketing"]) == len(SHIPPED.read_text().splitlines())
    assert kibana.saved("index-pattern", "authstream-users", "marketing") is not None
    assert "/s/marketing/app/dashboards#/view/authstream-dashboard" in capsys.readouterr().out


def test_an_object_whose_references_are_missing_is_reported(
    settings: Settings, kibana: KibanaStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = [line for line in SHIPPED.read_text().splitlines() if '"type": "dashboard"' in line]
    path = tmp_path / "board.ndjson"
    path.write_text("\n".join(board))
    assert main(["kibana", "import", "--url", kibana.base_url, "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert "dashboard authstream-dashboard: refers to objects Kibana does not have: lens" in err


def test_credentials_are_sent_and_a_refusal_is_a_configuration_error(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with KibanaStandIn(api_key="s3cret-key") as kibana:
        monkeypatch.setenv("AUTHSTREAM_KIBANA_URL", kibana.base_url)
        assert main(["kibana", "import"]) == 2
        assert "refused the credentials" in capsys.readouterr().err
        monkeypatch.setenv("AUTHSTREAM_KIBANA_API_KEY", "s3cret-key")
        assert main(["kibana", "import"]) == 0
        assert kibana.requests[-1].headers["authorization"] == "ApiKey s3cret-key"
    with KibanaStandIn(username="elastic", password="changeme") as kibana:
        monkeypatch.delenv("AUTHSTREAM_KIBANA_API_KEY")
        monkeypatch.setenv("AUTHSTREAM_KIBANA_USERNAME", "elastic")
        monkeypatch.setenv("AUTHSTREAM_KIBANA_PASSWORD", "changeme")
        assert main(["kibana", "import", "--url", kibana.base_url]) == 0
        monkeypatch.delenv("AUTHSTREAM_KIBANA_PASSWORD")
        monkeypatch.delenv("AUTHSTREAM_KIBANA_USERNAME")
        capsys.readouterr()
        # Credentials written into the URL work too, and are never printed.
        with_password = kibana.base_url.replace("http://", "http://elastic:changeme@")
        assert main(["kibana", "import", "--url", with_password]) == 0
        out = capsys.readouterr().out
        assert "changeme" not in out and "http://elastic:***@127.0.0.1" in out


def test_a_starting_kibana_is_waited_for(
    settings: Settings,
    kibana: KibanaStandIn,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client, "RETRY_EVERY_S", 0.05)
    not_ready = {"statusCode": 503, "error": "Service Unavailable", "message": "not ready yet"}
    kibana.fail(503, times=2, body=not_ready)
    assert main(["kibana", "import", "--url", kibana.base_url, "--wait", "10"]) == 0
    assert [r.fault for r in kibana.requests] == ["fail", "fail", None]
    kibana.fail(503, times=1, body=not_ready)
    assert main(["kibana", "import", "--url", kibana.base_url]) == 3  # no waiting asked for
    assert "Kibana answered 503" in capsys.readouterr().err


def test_kibana_refusing_the_file_is_explained(
    settings: Settings, kibana: KibanaStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.ndjson"
    path.write_text(json.dumps({"type": "dashboard", "id": "x", "attributes": {}}) + "\n{oops\n")
    assert main(["kibana", "import", "--url", kibana.base_url, "--file", str(path)]) == 2
    assert "refused the import (400): Unexpected token in JSON at line 2" in (
        capsys.readouterr().err
    )
    assert main(["kibana", "import", "--file", str(tmp_path / "nope.ndjson")]) == 2
