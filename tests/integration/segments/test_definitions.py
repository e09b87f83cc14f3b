"""Segments against profiles built by the real indexer."""

import csv
import io
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings
from tests import search
from tests.helpers import envelope, eventually
from tests.workers import running

NOW = datetime.now(UTC).replace(microsecond=0)
FORMULA = '=HYPERLINK("x")'


def years_ago(years: int, days: int = 0) -> str:
    return (NOW.date().replace(year=NOW.year - years) - timedelta(days=days)).strftime("%m/%d/%Y")


def fb_user(n: int, **extra: object) -> dict[str, object]:
    return {
        "user_id": f"facebook|{n}",
        "email": f"m{n}@example.com",
        "name": f"Runner {n}",
        "gender": "male",
        "likes": [{"name": "Strava", "category": "App"}],
        "created_at": (NOW - timedelta(days=30)).isoformat(),
        **extra,
    }


def stamp(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def test_the_three_campaign_segments(
    settings: Settings, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["setup"]) == 0
    events = [
        envelope(
            type="auth.signup", occurred_at=stamp(30), user=fb_user(1, birthday=years_ago(20))
        ),
        envelope(
            type="auth.signup", occurred_at=stamp(30), user=fb_user(2, birthday=years_ago(41, -1))
        ),
        envelope(
            type="auth.signup",
            occurred_at=stamp(30),
            user=fb_user(3, birthday=years_ago(41, 1), name=FORMULA),  # exported below
        ),
        envelope(
            type="auth.signup",
            occurred_at=stamp(30),
            user=fb_user(4, birthday=years_ago(30), gender="female"),
        ),
        envelope(
            type="auth.signup",
            occurred_at=stamp(30),
            user=fb_user(
                5,
                birthday=years_ago(30),
                app_metadata={"marketing_consent": False},
            ),
        ),
        envelope(
            type="auth.signup", occurred_at=stamp(30), user=fb_user(6, birthday=years_ago(19))
        ),
        envelope(type="auth.login", occurred_at=stamp(2), user=fb_user(1, birthday=years_ago(20))),
        envelope(
            type="auth.signup",
            occurred_at=stamp(1),
            user=fb_user(7, birthday=years_ago(25), created_at=stamp(1)),
        ),
        envelope(
            type="auth.login",
            occurred_at=stamp(5),
            user={
                "user_id": "twitter|9",
                "screen_name": "Grumpy",
                "identities": [{"provider": "twitter", "profileData": {"screen_name": "Grumpy"}}],
            },
        ),
        envelope(
            type="profile.sentiment",
            occurred_at=stamp(4),
            user={"user_id": "twitter|9"},
            data={"score": -0.7, "label": "negative"},
        ),
    ]
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events))
    assert main(["publish", str(path)]) == 0
    with running(settings):
        eventually(lambda: search.count_events(settings) == len(events), message="all indexed")
    search.refresh_users(settings)
    capsys.readouterr()

    # 20 and 40 (the day before turning 41) are in; 41, 19, a woman and a refusal are out.
    out = tmp_path / "men.jsonl"
    assert (
        main(
            [
                "segments",
                "export",
                "preorder-running-men",
                "--format",
                "jsonl",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    members = sorted(orjson.loads(line)["user_id"] for line in out.read_text().splitlines())
    assert members == ["facebook|1", "facebook|2", "facebook|7"]

    assert main(["segments", "show", "registered-not-returned"]) == 0
    shown = capsys.readouterr().out
    # Registered 30 days ago and never back: 2, 3, 4, 5, 6 (1 came back; 7 registered yesterday).
    assert shown.startswith("registered-not-returned: 5 member(s)")

    assert main(["segments", "show", "registered-not-returned", "--param", "days=60"]) == 0
    assert capsys.readouterr().out.startswith("registered-not-returned: 0 member(s)")

    assert main(["segments", "show", "negative-twitter-sentiment"]) == 0
    assert capsys.readouterr().out.startswith("negative-twitter-sentiment: 1 member(s)")

    # Consent-aware, formula-safe CSV: the refusal (facebook|5) is left out and said so.
    csv_path = tmp_path / "all.csv"
    assert main(["segments", "export", "registered-not-returned", "--output", str(csv_path)]) == 0
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert sorted(r["user_id"] for r in rows) == [
        "facebook|2",
        "facebook|3",
        "facebook|4",
        "facebook|6",
    ]
    assert "1 left out (refused marketing)" in capsys.readouterr().err
    # A member's formula is exported as text: Excel shows it and does not run it.
    by_id = {r["user_id"]: r for r in rows}
    assert by_id["facebook|3"]["name"] == "'" + FORMULA


def test_an_unknown_segment_is_a_clear_error(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["segments", "show", "nope"]) == 2
    assert "no segment named 'nope'; known segments:" in capsys.readouterr().err
