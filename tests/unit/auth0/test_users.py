"""Reading every user: keyset-paged search within the 1,000-result cap, and the export job."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from consumers.auth0 import Auth0Config
from consumers.auth0.client import ManagementClient
from consumers.auth0.snapshot import instant, sync_event_id, user_updated
from consumers.auth0.users import (
    Cursor,
    Page,
    Recent,
    SearchCapReached,
    export_pages,
    search_pages,
)
from tests.standins.auth0_mgmt import AUDIENCE, CLIENT_ID, CLIENT_SECRET, Auth0StandIn

START = datetime(2024, 1, 1, tzinfo=UTC)


def walk(standin: Auth0StandIn, method: str, cursor: Cursor | None = None) -> list[Page]:
    async def main() -> list[Page]:
        config = Auth0Config(standin.base_url, AUDIENCE, CLIENT_ID, SecretStr(CLIENT_SECRET), None)
        client = ManagementClient(config, timeout_s=5, rps=500)
        try:
            if method == "search":
                return [p async for p in search_pages(client, cursor or Cursor())]
            pages = export_pages(client, cursor or Cursor(), None, 0, 0.01, 10)
            return [p async for p in pages]
        finally:
            await client.aclose()

    return asyncio.run(main())


def ids(pages: list[Page]) -> list[str]:
    return [u["user_id"] for page in pages for u in page.users]


def test_search_covers_a_tenant_over_the_cap_without_paging_past_it() -> None:
    with Auth0StandIn(bucket_size=1000, refill_per_second=1000) as auth0:
        auth0.seed_users(2_500, start=START)
        found = ids(walk(auth0, "search"))
        assert len(found) == 2_500 and set(found) == set(auth0.users)
        pages = [int(r.query["page"]) for r in auth0.requests_to("/api/v2/users")]
        assert max(pages) < 10  # never the 400 "You can only page through the first 1000"


def test_users_sharing_one_updated_at_are_paged_through_once_each() -> None:
    with Auth0StandIn(bucket_size=1000, refill_per_second=1000) as auth0:
        users = auth0.seed_users(450, start=START)
        for user in users[100:380]:  # a bulk import: 280 users, one timestamp
            user["updated_at"] = "2024-03-01T00:00:00.000Z"
        found = ids(walk(auth0, "search"))
        assert sorted(found) == sorted(auth0.users)


def test_more_ties_than_the_cap_are_refused_with_a_way_out() -> None:
    with Auth0StandIn(bucket_size=1000, refill_per_second=1000) as auth0:
        for user in auth0.seed_users(1_050, start=START):
            user["updated_at"] = "2024-03-01T00:00:00.000Z"
        with pytest.raises(SearchCapReached, match="--method export"):
            walk(auth0, "search")


def test_a_cursor_skips_what_is_done_in_both_ways() -> None:
    with Auth0StandIn(bucket_size=1000, refill_per_second=1000) as auth0:
        auth0.seed_users(300, start=START)
        changed = set(auth0.mutate_users(12, at=datetime(2025, 1, 1, tzinfo=UTC)))
        bound = "2025-01-01T00:00:00.000Z"
        done_already = sorted(changed)[:2]
        cursor = Cursor(bound, dict.fromkeys(done_already, bound))
        assert set(ids(walk(auth0, "search", cursor))) == changed - set(done_already)
        export = walk(auth0, "export", cursor)
        assert set(ids(export)) == changed - set(done_already)
        assert sum(page.taken for page in export) == 300  # the file holds everyone
        assert export[-1].position["lines_done"] == 300


def test_recent_lets_the_next_sync_look_back_without_publishing_twice() -> None:
    recent = Recent(Cursor("2024-01-01T00:00:00.000Z", {}), timedelta(minutes=2), keep=4)
    times = ["10:00", "10:10", "10:59", "10:59", "11:00"]
    for n, at in enumerate(times):
        recent.add(f"u{n}", f"2024-06-01T{at}:00.000Z")
    end = recent.cursor()
    assert end.bound == "2024-06-01T10:58:00.000Z"  # two minutes before the newest
    assert end.seen == {f"u{n}": f"2024-06-01T{times[n]}:00.000Z" for n in (2, 3, 4)}
    assert end.done("u0", "2024-06-01T10:00:00.000Z") and end.done("u4", "2024-06-01T11:00:00.000Z")
    assert not end.done("u4", "2024-06-01T11:30:00.000Z")  # changed again since
    crowded = Recent(Cursor(), timedelta(hours=1), keep=2)
    for n in range(5):
        crowded.add(f"u{n}", f"2024-06-01T10:0{n}:00.000Z")
    assert crowded.cursor().bound == "2024-06-01T10:03:00.000Z"  # keeps only the newest two
    assert (
        Recent(Cursor("2030-01-01T00:00:00.000Z"), timedelta(0)).cursor().bound.startswith("2030")
    )


def test_a_user_becomes_a_deterministic_user_updated_event() -> None:
    user: dict[str, Any] = {
        "user_id": "facebook|10",
        "updated_at": "2024-06-01T10:00:00Z",
        "email": None,
        "identities": [{"provider": "facebook", "connection": "facebook", "user_id": "10"}],
    }
    envelope = user_updated(user, "innovashoes", "search")
    assert envelope["event_id"] == sync_event_id("facebook|10", "2024-06-01T10:00:00.000Z")
    assert envelope["event_id"] == user_updated(dict(user), None, "export")["event_id"]
    assert envelope["occurred_at"] == instant("2024-06-01T10:00:00.000+00:00")
    assert envelope["source"] == "auth0-sync" and "email" not in envelope["user"]
    assert envelope["context"] == {"connection": "facebook", "connection_strategy": "facebook"}
