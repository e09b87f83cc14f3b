"""Time alone changes membership (a birthday, "registered 7 days ago"): the periodic sweep finds
who is due to enter or leave and announces it exactly as a profile change would."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from consumers.cli.main import main
from consumers.core.settings import Settings
from consumers.pipeline.outcome import Emit
from consumers.pipeline.schedule import publish_emits
from consumers.segments.conditions import minus_years
from consumers.segments.definitions import load_segments
from consumers.segments.membership import transition_id
from consumers.stages.segments import SegmentsStage
from consumers.store import elastic
from tests import search
from tests.helpers import dumps, envelope, eventually
from tests.workers import running

NOW = datetime.now(UTC).replace(microsecond=0)


def sweep(settings: Settings, at: datetime) -> list[Emit]:
    """What a sweep at ``at`` announces, every page of it, unpublished."""

    async def swept() -> list[Emit]:
        async with elastic.connect(settings) as es:
            stage = SegmentsStage(es, settings, load_segments())
            assert stage.periodic[0].every == timedelta(minutes=15)
            return [emit async for page in stage.due(at) for emit in page]

    return asyncio.run(swept())


def as_of(emit: Emit, at: datetime) -> Emit:
    body = orjson.loads(emit.body)
    body["occurred_at"] = at.isoformat()
    return replace(emit, body=orjson.dumps(body))


def keys(emits: list[Emit]) -> list[tuple[str, str]]:
    return sorted((e.routing_key, e.message_id) for e in emits)


def test_the_sweep_announces_entries_and_exits_that_time_brings(
    settings: Settings, tmp_path: Path
) -> None:
    assert main(["setup"]) == 0
    turns_41 = minus_years(NOW.date(), 41) + timedelta(days=3)
    newcomer = {"user_id": "auth0|new", "email": "new@example.com", "created_at": NOW.isoformat()}
    runner = {
        "user_id": "facebook|runner",
        "email": "run@example.com",
        "gender": "male",
        "birthday": turns_41.strftime("%m/%d/%Y"),
        "likes": [{"name": "Marathon"}],
        "created_at": (NOW - timedelta(days=60)).isoformat(),
    }
    events = [
        envelope(type="auth.signup", occurred_at=NOW.isoformat(), user=newcomer),
        envelope(
            type="auth.signup", occurred_at=(NOW - timedelta(days=60)).isoformat(), user=runner
        ),
        envelope(type="auth.login", occurred_at=(NOW - timedelta(days=1)).isoformat(), user=runner),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(dumps(e) for e in events))
    assert main(["publish", str(path)]) == 0
    with running(settings, ("index", "segments")):
        eventually(  # 40 for three more days: in, in real time
            lambda: (search.profile(settings, "facebook|runner") or {}).get("segments"),
            message="the runner entered preorder-running-men",
        )
        search.refresh_users(settings)
        assert sweep(settings, NOW) == []  # nobody is due now

        later = NOW + timedelta(days=8)  # the runner is 41; the newcomer never came back
        due = sweep(settings, later)
        assert keys(due) == sorted(
            [
                (
                    "segment.preorder-running-men.left",
                    transition_id("facebook|runner", "preorder-running-men", 2),
                ),
                (
                    "segment.registered-not-returned.entered",
                    transition_id("auth0|new", "registered-not-returned", 1),
                ),
            ]
        )
        # Published now: an event dated eight days ahead is refused as implausible (the contract).
        asyncio.run(publish_emits(settings, [as_of(emit, NOW) for emit in due], "test sweep"))
        eventually(
            lambda: (search.profile(settings, "auth0|new") or {}).get("segments"),
            message="the newcomer's entry folded",
        )
        eventually(
            lambda: (search.profile(settings, "facebook|runner") or {}).get("segments") == [],
            message="the runner's exit folded",
        )
        search.refresh_users(settings)
        assert sweep(settings, later) == []  # announced once: nothing is due any more
