"""`authstream search` over profiles the real indexer wrote."""

import subprocess
import sys

import orjson
import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings
from consumers.people import search as people_search

RUNNERS = {"facebook|1", "auth0|3", "facebook|5"}


def found(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    """User ids `authstream search` prints as JSON lines, best first."""
    capsys.readouterr()
    assert main(["search", *argv, "--format", "jsonl"]) == 0
    return [orjson.loads(line)["user_id"] for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("chloe", {"facebook|1", "google-oauth2|2"}),  # unaccented finds Chloé
        ("CHLOÉ", {"facebook|1", "google-oauth2|2"}),  # accented, capitals
        ("chlo", {"facebook|1", "google-oauth2|2"}),  # partial
        ("dubios", {"facebook|1"}),  # misspelled (transposed letters)
        ("chloe dubois", {"facebook|1"}),  # every word must match
        ("bjorn muller", {"auth0|3"}),  # ö and ü without accents
        ("mueller", {"auth0|3"}),  # a typo away from muller
        ("zoe obrien", {"twitter|4"}),  # Zoë O'Brien: apostrophe and diaeresis
        ("o'brien", {"twitter|4"}),
        ("coco", {"google-oauth2|2"}),  # nickname
        ("chloe.dubois@example.com", {"facebook|1"}),  # email
        ("berlin", {"auth0|3"}),  # location
        ("paris fr", {"facebook|1"}),
        ("zoe_ob", {"twitter|4"}),  # Twitter handle
        ("cycling", {"auth0|3"}),  # declared interest
        ("running", RUNNERS),  # Facebook likes, FullContact, Strava
        ("xylophone", set()),
    ],
)
def test_search_finds_people(
    tenant: Settings, capsys: pytest.CaptureFixture[str], query: str, expected: set[str]
) -> None:
    assert set(found(capsys, query)) == expected


def test_exact_words_rank_before_prefixes_and_typos(
    tenant: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # "chloe" is a word of both; "coco" only matches Chloe Martin's nickname exactly.
    assert found(capsys, "chlo coco") == ["google-oauth2|2"]
    # Hiro Tanaka is an exact "hiro"; nobody else is within reach of it.
    assert found(capsys, "hiro")[0] == "facebook|5"
    assert found(capsys, "running", "--limit", "1") == ["facebook|1"]  # seen 3 days ago


def test_the_table_says_how_many_and_shows_the_best(
    tenant: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "running", "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "3 match(es) for 'running', best 2 shown"
    assert out[1].split() == ["user_id", "name", "email", "place", "interests", "last_seen"]
    assert out[2].startswith("facebook|1  Chloé Dubois  chloe.dubois@example.com  Paris, FR")
    assert len(out) == 4


def test_a_query_without_words_is_a_usage_error(
    tenant: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "  !?  "]) == 2
    assert "nothing to search for" in capsys.readouterr().err


def test_search_before_setup_says_what_to_do(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "chloe"]) == 2
    assert "run `authstream setup` first" in capsys.readouterr().err


def test_a_reader_that_is_gone_gets_no_traceback(tenant: Settings) -> None:
    """`authstream search chloe | true`: the reader exits before anything is written."""
    with subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "search", "chloe"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        err = process.stderr.read().decode()
        assert process.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_too_many_matches_to_order_by_recency_is_said(
    tenant: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(people_search, "RECENCY_ORDER_UP_TO", 2)  # "running" matches 3
    assert main(["search", "running", "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "more than 2 match(es) for 'running', best 2 shown "
        "(too many to show the most recently seen first: add a word)"
    )
    assert len(out) == 4 and all(line.split()[0] in RUNNERS for line in out[2:])
