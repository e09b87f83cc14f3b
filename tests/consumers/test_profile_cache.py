"""The worker's profile cache: least recently used, and only ever a guess Elasticsearch checks."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from consumers import elastic
from consumers.events import decode_event
from consumers.facts import Taxonomy
from consumers.index import IndexStage
from consumers.profile import Profile
from consumers.profile_cache import ProfileCache, Stored
from consumers.provision import run_setup
from consumers.settings import Settings
from tests import search
from tests.helpers import dumps, envelope


def stored(user_id: str, seq_no: int = 0) -> Stored:
    return Stored(Profile(user_id=user_id), seq_no, 1)


def test_the_least_recently_used_profile_goes_first() -> None:
    cache = ProfileCache(2)
    cache.put("a", stored("a"))
    cache.put("b", stored("b"))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", stored("c"))
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None
    assert len(cache) == 2


def test_a_newer_write_replaces_the_entry_and_forget_drops_it() -> None:
    cache = ProfileCache(10)
    cache.put("a", stored("a", seq_no=1))
    cache.put("a", stored("a", seq_no=7))
    entry = cache.get("a")
    assert entry is not None and entry.seq_no == 7
    cache.forget("a")
    cache.forget("never-there")
    assert cache.get("a") is None


def test_size_zero_keeps_nothing() -> None:
    cache = ProfileCache(0)
    cache.put("a", stored("a"))
    assert cache.get("a") is None and len(cache) == 0


def _login(day: int) -> Any:
    user = envelope()["user"] | {"logins_count": day}
    return decode_event(
        dumps(envelope(occurred_at=f"2026-03-{day:02d}T10:00:00Z", user=user)), 1 << 20
    )


@pytest.mark.integration
def test_a_profile_another_worker_changed_is_read_again_not_overwritten(
    settings: Settings,
) -> None:
    """Worker A caches the profile; worker B writes it; A's next write must not lose B's login."""
    user_id = envelope()["user"]["user_id"]

    async def scenario() -> tuple[int, Stored | None]:
        await run_setup(settings)
        async with elastic.connect(settings) as es:
            taxonomy = Taxonomy.load()
            worker_a = IndexStage(es, settings, taxonomy)
            worker_b = IndexStage(es, settings, taxonomy)
            reads = 0
            mget = es.mget

            async def counted_mget(**kwargs: Any) -> Any:
                nonlocal reads
                reads += 1
                return await mget(**kwargs)

            es.mget = counted_mget  # type: ignore[method-assign]
            assert (await worker_a.handle([_login(1)]))[0].kind == "done"
            assert (await worker_b.handle([_login(2)]))[0].kind == "done"
            reads_before = reads
            assert (await worker_a.handle([_login(3)]))[0].kind == "done"
            # A tried its cached version, was refused, and read the profile again.
            assert reads == reads_before + 1
            return reads, worker_a.cache.get(user_id)

    _, cached = asyncio.run(scenario())
    profile = search.profile(settings, user_id)
    assert profile is not None
    assert profile["counters"] == {"logins": 3}
    assert profile["last_login"] == "2026-03-03T10:00:00Z"
    assert cached is not None and cached.profile.counters == {"logins": 3}
    assert cached.profile.updated_at is not None
    assert cached.profile.updated_at <= datetime.now(UTC)
