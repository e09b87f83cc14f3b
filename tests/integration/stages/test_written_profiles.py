"""The index stage keeps the profiles it wrote (``stages.written_profiles``): what it folds from a
kept profile must be what it would fold from the profile read back, and a kept profile that is no
longer what is stored (another worker wrote it, the alias moved) must never be written over."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from elasticsearch import AsyncElasticsearch

from consumers.cli.setup import remove_everything, run_setup
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from consumers.stages.catalog import CATALOG, StageContext
from consumers.stages.index import IndexStage
from consumers.store import elastic
from schemas import Event
from tests import search
from tests.helpers import database_user as user
from tests.helpers import envelope
from tests.metrics import sample

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
# Stands for a NaN in the JSON of a finding (JSON has no NaN; Python's and pydantic's parsers
# take the token, and a publisher may send it).
NAN_MARK = 123.456


def event(kind: str, n: int, at: str, **fields: Any) -> Event:
    """An envelope of user ``n``, decoded from its JSON (``NAN_MARK`` becomes a NaN)."""
    fields.setdefault("user", user(n))
    body = orjson.dumps(envelope(type=kind, occurred_at=at, **fields))
    return decode_event(body.replace(str(NAN_MARK).encode(), b"NaN"), 1 << 20)


def finding(kind: str, n: int, at: str, data: dict[str, Any]) -> Event:
    return event(kind, n, at, source="authstream", data=data)


def stream() -> list[list[Event]]:
    """Batches that change every kind of field a kept profile carries, with findings whose data
    JSON writes otherwise (a NaN, a key set to none) and two answers made at the same instant."""
    geo = {
        "ip": "1.2.3.4",
        "geo": {"country_code": "DE", "city": "Berlin", "lat": 52.5, "lon": 13.4},
    }
    answer = {"provider": "fullcontact", "status": "enriched", "updated_at": "2026-02-01T00:00:00Z"}
    return [
        [
            event("auth.signup", 1, "2026-02-01T08:00:00Z", context=geo),
            event("auth.login", 2, "2026-02-01T08:01:00Z"),
        ],
        [
            event("auth.login", 1, "2026-02-01T09:00:00Z"),
            finding(
                "profile.enriched",
                1,
                "2026-02-01T09:00:01Z",
                answer | {"response": {"fullName": "Kept One", "score": NAN_MARK}, "note": None},
            ),
        ],
        [
            finding(
                "profile.sentiment",
                2,
                "2026-02-01T09:30:00Z",
                {"score": 0.5, "label": "positive", "mentions": 3, "extra": None},
            ),
            event("auth.login", 1, "2026-02-01T10:00:00Z"),
        ],
        [
            # the same instant as the first answer: the tie is broken by content, in any order
            finding(
                "profile.enriched",
                1,
                "2026-02-01T10:00:01Z",
                # wins the tie ("Kept Zed" sorts after "Kept One"), and its NaN is written null
                answer | {"response": {"fullName": "Kept Zed"}, "zscore": NAN_MARK},
            ),
            event("auth.login", 2, "2026-02-01T10:01:00Z"),
            event(
                "behavior.cart_item_added",
                3,
                "2026-02-01T10:02:00Z",
                data={"category": "running shoes"},
            ),
        ],
        [
            finding(
                "segment.entered",
                1,
                "2026-02-01T11:00:00Z",
                {"segment": "runners", "transition": 1},
            ),
            event(
                "user.updated",
                1,
                "2026-02-01T11:00:01Z",
                user=user(1, name="Kept Renamed", user_metadata={"marketing_consent": True}),
            ),
            finding(
                "profile.sentiment",
                2,
                "2026-02-01T11:00:02Z",
                {"score": -0.2, "label": "neutral", "mentions": 1, "spread": NAN_MARK},
            ),
        ],
        [event("auth.login", n, "2026-02-02T08:00:00Z") for n in (1, 2, 3)],
        [
            finding(
                "segment.left", 1, "2026-02-02T09:00:00Z", {"segment": "runners", "transition": 2}
            ),
            event("auth.login", 3, "2026-02-02T09:00:01Z"),
        ],
    ]


@pytest.fixture
def second(settings: Settings) -> Iterator[Settings]:
    """Another namespace, for the same stream folded with reads only."""
    other = settings.model_copy(update={"name_prefix": f"{settings.name_prefix}b-"})
    asyncio.run(run_setup(other))
    try:
        yield other
    finally:
        asyncio.run(remove_everything(other))


def build(es: AsyncElasticsearch, settings: Settings) -> IndexStage:
    stage = CATALOG["index"].build(StageContext(es, settings, ()))
    assert isinstance(stage, IndexStage)
    stage.clock = lambda: NOW
    return stage


async def fold_stream(settings: Settings, batches: list[list[Event]]) -> int:
    """Handle the batches with one stage; how many profiles it kept."""
    async with elastic.connect(settings) as es:
        stage = build(es, settings)
        for batch in batches:
            handled = await stage.handle(batch)
            assert [o.kind for o in handled.outcomes] == ["done"] * len(batch)
        return len(stage.written)


def profiles(settings: Settings) -> dict[str, dict[str, Any]]:
    names = Names(settings.name_prefix)
    with search.client(settings) as es:
        found = es.mget(index=names.users_alias, ids=[f"auth0|user{n}" for n in (1, 2, 3)])
        return {d["_id"]: d["_source"] for d in found["docs"]}


def test_a_kept_profile_folds_as_the_profile_read_back_would(
    settings: Settings, second: Settings
) -> None:
    asyncio.run(run_setup(settings))
    assert settings.profile_cache > 0
    reads_only = second.model_copy(update={"profile_cache": 0})
    batches = stream()
    kept = {"stage": "index", "source": "kept"}
    before = sample("authstream_profile_reads_total", **kept)
    assert asyncio.run(fold_stream(settings, batches)) == 3
    used = sample("authstream_profile_reads_total", **kept) - before
    assert used >= 9  # most batches started from kept profiles, some from JSON kept
    assert asyncio.run(fold_stream(reads_only, batches)) == 0
    assert sample("authstream_profile_reads_total", **kept) - before == used
    with_kept, read_back = profiles(settings), profiles(reads_only)
    assert with_kept == read_back
    first = with_kept["auth0|user1"]
    assert first["counters"] == {"signups": 1, "logins": 3}
    answer = first["enrichment"]["fullcontact"]
    assert answer["response"]["fullName"] == "Kept Zed" and "zscore" not in answer
    assert with_kept["auth0|user2"]["sentiment"]["label"] == "neutral"


def test_a_profile_another_worker_wrote_is_read_again_not_written_over(settings: Settings) -> None:
    asyncio.run(run_setup(settings))
    conflicts = {"stage": "index", "reason": "conflict"}

    async def run() -> None:
        async with elastic.connect(settings) as es:
            one, other = build(es, settings), build(es, settings)
            await one.handle([event("auth.signup", 1, "2026-02-01T08:00:00Z")])
            await other.handle([event("auth.login", 1, "2026-02-01T09:00:00Z")])
            await one.handle([event("auth.login", 1, "2026-02-01T10:00:00Z")])  # kept is stale

    before = sample("authstream_bulk_item_failures_total", **conflicts)
    asyncio.run(run())
    assert sample("authstream_bulk_item_failures_total", **conflicts) == before + 1
    stored = search.profile(settings, "auth0|user1")
    assert stored is not None and stored["counters"] == {"signups": 1, "logins": 2}
    assert stored["version"] == 3


def test_kept_profiles_are_not_used_once_the_alias_points_elsewhere(settings: Settings) -> None:
    """Sequence numbers count per index: after a profile is copied to a new index behind the
    alias (a mapping rolled out), a kept one could match the copy's and overwrite it."""
    asyncio.run(run_setup(settings))
    names = Names(settings.name_prefix)
    moved = f"{names.users_alias}-v9"

    async def run() -> None:
        async with elastic.connect(settings) as es:
            stage = build(es, settings)
            await stage.handle([event("auth.signup", 1, "2026-02-01T08:00:00Z")])
            found = await es.get(index=names.users_alias, id="auth0|user1")
            copy = found["_source"] | {"counters": {"signups": 1, "logins": 10}}
            old = next(iter(await es.indices.get_alias(name=names.users_alias)))
            written = await es.index(index=moved, id="auth0|user1", document=copy, refresh=True)
            # The copy got what the kept profile's write is conditional on: only the alias tells.
            assert (written["_seq_no"], written["_primary_term"]) == (
                found["_seq_no"],
                found["_primary_term"],
            )
            await es.indices.update_aliases(
                actions=[
                    {"remove": {"index": old, "alias": names.users_alias}},
                    {"add": {"index": moved, "alias": names.users_alias}},
                ]
            )
            await stage.handle([event("auth.login", 1, "2026-02-01T09:00:00Z")])

    try:
        asyncio.run(run())
        stored = search.profile(settings, "auth0|user1")
        assert stored is not None and stored["counters"] == {"signups": 1, "logins": 11}
    finally:
        with search.client(settings) as es:
            es.options(ignore_status=404).indices.delete(index=moved)
