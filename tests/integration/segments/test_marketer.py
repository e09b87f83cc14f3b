"""What a marketer does: start from the built-in files, add a segment, validate it, see its count,
export it; and what happens when a file is wrong (validate says where, setup and run refuse)."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings
from tests import search
from tests.helpers import dumps, envelope, eventually
from tests.workers import running

NOW = datetime.now(UTC).replace(microsecond=0)
VIP_RUNNERS = """\
# Runners old enough for the premium line, who came back at least twice.
description: runners aged $min_age or more with at least $logins logins
parameters:
  min_age: 30
  logins: 2
where:
  all:
    - interests: running
    - age: {min: $min_age}
    - counters.logins: {min: $logins}
"""


def born(years: int) -> str:
    return (NOW.date().replace(year=NOW.year - years) - timedelta(days=10)).strftime("%m/%d/%Y")


def customer(n: int, age: int, likes: str, logins: int) -> list[dict[str, object]]:
    user = {
        "user_id": f"facebook|{n}",
        "email": f"c{n}@example.com",
        "name": f"Customer {n}",
        "birthday": born(age),
        "likes": [{"name": likes}],
    }
    signup = envelope(
        type="auth.signup", occurred_at=(NOW - timedelta(days=20)).isoformat(), user=user
    )
    return [signup] + [
        envelope(type="auth.login", occurred_at=(NOW - timedelta(days=d)).isoformat(), user=user)
        for d in range(1, logins + 1)
    ]


def test_a_marketer_adds_validates_counts_and_exports_a_segment(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = tmp_path / "segments"
    assert main(["segments", "init", str(directory)]) == 0
    assert sorted(p.name for p in directory.iterdir()) == [
        "negative-twitter-sentiment.yaml",
        "preorder-running-men.yaml",
        "registered-not-returned.yaml",
    ]
    (directory / "vip-runners.yaml").write_text(VIP_RUNNERS)
    capsys.readouterr()
    assert main(["segments", "validate", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "ok  vip-runners" in out and out.endswith(f"4 segment(s) in {directory}: all valid\n")

    monkeypatch.setenv("AUTHSTREAM_SEGMENTS_DIR", str(directory))
    assert main(["setup"]) == 0
    events = [
        *customer(1, age=35, likes="Marathon training", logins=2),  # in
        *customer(2, age=25, likes="Trail running", logins=2),  # too young
        *customer(3, age=40, likes="Cooking", logins=3),  # not a runner
        *customer(4, age=50, likes="Running shoes", logins=1),  # one login only
    ]
    path = tmp_path / "customers.jsonl"
    path.write_bytes(b"\n".join(dumps(e) for e in events))
    assert main(["publish", str(path)]) == 0
    with running(settings):
        eventually(lambda: search.count_events(settings) == len(events), message="indexed")
    search.refresh_users(settings)
    capsys.readouterr()

    assert main(["segments", "list"]) == 0
    listed = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert listed["vip-runners"] == "1"
    assert main(["segments", "show", "vip-runners", "--param", "logins=1"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(
        "vip-runners: 2 member(s) — runners aged 30 or more with at least 1 logins"
    )
    out_file = tmp_path / "vip.jsonl"
    assert (
        main(["segments", "export", "vip-runners", "--format", "jsonl", "--output", str(out_file)])
        == 0
    )
    (row,) = [orjson.loads(line) for line in out_file.read_text().splitlines()]
    assert (row["user_id"], row["email"], row["name"]) == (
        "facebook|1",
        "c1@example.com",
        "Customer 1",
    )


def test_an_invalid_file_stops_setup_and_run_with_the_message_validate_gives(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = tmp_path / f"segments{random.randrange(1000)}"
    directory.mkdir()
    (directory / "vip-runners.yaml").write_text(VIP_RUNNERS.replace("interests:", "interest:"))
    where = f"{directory}/vip-runners.yaml:8"
    problem = f"{where}: unknown field or condition 'interest' (did you mean 'interests'?)"

    assert main(["segments", "validate", str(directory)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == problem

    monkeypatch.setenv("AUTHSTREAM_SEGMENTS_DIR", str(directory))
    for command in (["setup"], ["run", "--stage", "index"], ["segments", "list"]):
        assert main(command) == 2, command
        assert capsys.readouterr().err == (
            f"authstream: error: invalid segment definitions in {directory}:\n  {problem}\n"
        )
