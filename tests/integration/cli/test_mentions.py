"""``authstream mentions import`` against the real RabbitMQ and Elasticsearch."""

import io
import json
import sys
from pathlib import Path

import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings
from tests.helpers import eventually
from tests.integration.stages.sentiment_helpers import sentiment_settings, stored_mentions
from tests.workers import running

GOOD = {
    "id": "1861000000000000001",
    "handle": "@amy",
    "text": "@InnovaShoes still waiting for my refund",
    "created_at": "2026-11-20T12:00:00Z",
}


def test_bad_lines_are_reported_by_number_and_the_good_ones_imported(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    settings = sentiment_settings(monkeypatch, None)
    assert main(["setup"]) == 0
    capsys.readouterr()
    lines = [
        json.dumps(GOOD),
        "{broken",
        "",
        json.dumps(GOOD | {"id": "1861000000000000002", "handle": "no spaces allowed"}),
        json.dumps(GOOD | {"id": "1861000000000000003", "created_at": "someday"}),
        json.dumps(GOOD | {"id": "1861000000000000004", "text": "🔥🔥 @InnovaShoes"}),
    ]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(lines).encode())))
    assert main(["mentions", "import", "-"]) == 1
    captured = capsys.readouterr()
    assert "imported 2 mention(s) for the sentiment stage; 3 line(s) failed" in captured.out
    errors = captured.err.splitlines()
    assert errors[0].startswith("line 2: not JSON")
    assert errors[1].startswith("line 4: handle: is not an X handle")
    assert errors[2].startswith("line 5: created_at:")
    with running(settings, ("sentiment",)):
        stored = eventually(
            lambda: len(stored_mentions(settings)) == 2 and stored_mentions(settings)
        )
    assert set(stored) == {"1861000000000000001", "1861000000000000004"}
    amy = stored["1861000000000000001"]
    assert (amy["handle"], amy["label"], amy["source"]) == ("amy", "negative", "import")
    assert amy["url"] == "https://x.com/amy/status/1861000000000000001"
    assert stored["1861000000000000004"]["label"] == "positive"


def test_importing_needs_the_stage_on_and_set_up(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path = tmp_path / "mentions.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    assert main(["mentions", "import", str(path)]) == 2  # no brand handle: the stage is off
    assert "the sentiment stage is off (set AUTHSTREAM_BRAND_HANDLE" in capsys.readouterr().err
    sentiment_settings(monkeypatch, None)
    assert main(["mentions", "import", str(path)]) == 2
    assert "authstream.sentiment does not exist: run `authstream setup`" in capsys.readouterr().err
    assert main(["mentions", "import", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
