"""Anonymous to known, against the real Elasticsearch: a visitor's behaviour counts for the user
they turn out to be, exactly once, whatever the order, the batching and the redeliveries."""

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import orjson

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.ingest.shop_events import envelope_from_shop
from consumers.pipeline.outcome import Handled
from consumers.profile.visitors import VisitorRecord
from consumers.stages.catalog import CATALOG, StageContext
from consumers.stages.visitors import Stored, Visitors
from consumers.store import elastic
from schemas import Event
from tests import search
from tests.helpers import envelope

USER = "auth0|6f1d2c3b4a5e"
PHONE = "9a8b7c6d-0001-4e5f-8a9b-phone0000001"
LAPTOP = "9a8b7c6d-0002-4e5f-8a9b-laptop000002"


def shop(n: int, visitor: str, category: str, action: str = "product_viewed") -> Event:
    raw = {
        "type": f"behavior.{action}",
        "anonymous_id": visitor,
        "occurred_at": f"2026-11-20T10:{n:02d}:00Z",
        "event_id": f"{visitor}-{n}",
        "properties": {"category": category},
    }
    return Event.model_validate(envelope_from_shop(raw, "shop-web", "innovashoes", {}))


def identify(visitor: str, at: str = "2026-11-20T11:00:00Z", user: str = USER) -> Event:
    raw = {"type": "user.identified", "anonymous_id": visitor, "user_id": user, "occurred_at": at}
    return Event.model_validate(envelope_from_shop(raw, "shop-web", "innovashoes", {}))


def login(n: int, visitor: str | None = None, user: str = USER) -> Event:
    data = {"anonymous_id": visitor} if visitor else {}
    person = {"user_id": user, "email": "runner@example.com", "logins_count": n}
    at = f"2026-11-2{min(n, 9)}T12:00:00Z"
    return Event.model_validate(envelope(type="auth.login", occurred_at=at, user=person, data=data))


BEFORE = [
    shop(1, PHONE, "Trail running shoes"),
    shop(2, PHONE, "Trail running shoes"),
    shop(3, PHONE, "Hiking boots", "cart_item_added"),
]


def index(settings: Settings, *batches: Sequence[Event]) -> list[Handled]:
    """Each batch handled in turn, as the index stage's worker would (the same event in two
    batches is a redelivery)."""

    async def scenario() -> list[Handled]:
        async with elastic.connect(settings) as es:
            worker = CATALOG["index"].build(StageContext(es, settings, ()))
            return [await worker.handle(list(batch)) for batch in batches]

    return asyncio.run(scenario())


def profile(settings: Settings) -> dict[str, Any]:
    found = search.profile(settings, USER)
    assert found is not None
    return found


def behaviour(settings: Settings) -> tuple[dict[str, int], dict[str, int], dict[str, list[str]]]:
    found = profile(settings)
    counts = {b["action"]: b["count"] for b in found.get("behaviors", [])}
    return found["counters"], counts, found["interest_sources"]


def record(settings: Settings, visitor: str) -> VisitorRecord:
    with search.client(settings) as es:
        found = es.get(index=Names(settings.name_prefix).visitors_index, id=visitor)
    return VisitorRecord.model_validate(found["_source"])


EXPECTED_COUNTS = {"product_viewed": 2, "cart_item_added": 1}
EXPECTED_INTERESTS = {"running": ["behavior"], "fitness": ["behavior"], "outdoors": ["behavior"]}


def test_behaviour_before_the_login_counts_once_also_after_redeliveries(settings: Settings) -> None:
    assert main(["setup"]) == 0
    index(settings, BEFORE)
    assert search.profile(settings, USER) is None  # a visitor has no profile
    held = record(settings, PHONE)
    assert (held.user_id, held.next_seq, len(held.pending)) == (None, 4, 3)
    carrying = login(2, PHONE)  # the login carries the visitor's id (the Action read it)
    index(settings, [carrying])
    counters, counts, interests = behaviour(settings)
    assert counters == {"logins": 1, "behaviors": 3}
    assert counts == EXPECTED_COUNTS and interests == EXPECTED_INTERESTS
    merged = record(settings, PHONE)
    assert (merged.user_id, merged.merged_through, merged.pending) == (USER, 3, [])
    assert profile(settings)["visitors"] == {PHONE: 3}
    # Every batch again, in another order: nothing counts twice.
    index(settings, [carrying], BEFORE, [identify(PHONE)], BEFORE[::-1])
    counters, counts, interests = behaviour(settings)
    assert counters == {"logins": 1, "behaviors": 3}
    assert counts == EXPECTED_COUNTS and interests == EXPECTED_INTERESTS
    assert search.count_events(settings, **{"user.id": f"anon:{PHONE}"}) == 3  # kept as events


def test_behaviour_after_the_identify_lands_on_the_user(settings: Settings) -> None:
    assert main(["setup"]) == 0
    index(settings, [identify(PHONE)], BEFORE, BEFORE)
    counters, counts, interests = behaviour(settings)
    assert counters == {"behaviors": 3} and counts == EXPECTED_COUNTS
    assert interests == EXPECTED_INTERESTS
    assert search.count_events(settings, **{"user.id": USER}) == 4  # filed under the user


def test_visitor_events_and_their_identify_in_one_batch(settings: Settings) -> None:
    assert main(["setup"]) == 0
    index(settings, [*BEFORE, identify(PHONE)], [identify(PHONE), *BEFORE])
    counters, counts, _ = behaviour(settings)
    assert counters == {"behaviors": 3} and counts == EXPECTED_COUNTS


def test_two_devices_of_one_user_and_a_redelivered_identify_long_after(settings: Settings) -> None:
    assert main(["setup"]) == 0
    laptop = [shop(10, LAPTOP, "Running watches"), shop(11, LAPTOP, "Yoga mats")]
    phone, from_laptop = identify(PHONE), identify(LAPTOP, "2026-11-20T11:30:00Z")
    index(settings, BEFORE, laptop, [phone], [from_laptop])
    # More than the profile remembers of event ids (128) happen before the identify comes again.
    logins = [login(4 + n) for n in range(140)]
    index(settings, logins[:70], logins[70:], [phone, from_laptop])
    counters, counts, _ = behaviour(settings)
    assert counters == {"behaviors": 5, "logins": 140}
    assert counts == {"product_viewed": 4, "cart_item_added": 1}
    assert profile(settings)["visitors"] == {PHONE: 3, LAPTOP: 2}


def test_a_crash_between_the_profile_write_and_the_record(settings: Settings) -> None:
    assert main(["setup"]) == 0
    index(settings, BEFORE)

    class Crashing(Visitors):
        crashed = False

        async def write(self, stored: Stored) -> bool:
            if stored.record.user_id is not None and not Crashing.crashed:
                Crashing.crashed = True
                raise RuntimeError("the process died before the record was written")
            return await super().write(stored)

    async def crash_then_redeliver() -> None:
        async with elastic.connect(settings) as es:
            stage = CATALOG["index"].build(StageContext(es, settings, ()))
            stage.visitors = Crashing(es, Names(settings.name_prefix))
            with contextlib.suppress(RuntimeError):
                await stage.handle([identify(PHONE)])
            assert Crashing.crashed
            await stage.handle([identify(PHONE)])  # the broker delivers it again

    asyncio.run(crash_then_redeliver())
    counters, counts, _ = behaviour(settings)
    assert counters == {"behaviors": 3} and counts == EXPECTED_COUNTS
    assert record(settings, PHONE).user_id == USER


def test_an_identify_between_holding_and_writing_hands_the_event_back(settings: Settings) -> None:
    """Worker A reads the visitor's record to hold an event; worker B identifies the visitor
    before A writes: A's write conflicts, A reads again and folds the event into the user."""
    assert main(["setup"]) == 0
    index(settings, BEFORE[:2])
    late = shop(3, PHONE, "Hiking boots", "cart_item_added")

    async def race() -> None:
        async with elastic.connect(settings) as es:
            worker_b = CATALOG["index"].build(StageContext(es, settings, ()))

            class Slow(Visitors):
                interrupted = False

                async def write(self, stored: Stored) -> bool:
                    if not Slow.interrupted:
                        Slow.interrupted = True
                        await worker_b.handle([identify(PHONE)])
                    return await super().write(stored)

            worker_a = CATALOG["index"].build(StageContext(es, settings, ()))
            worker_a.visitors = Slow(es, Names(settings.name_prefix))
            await worker_a.handle([late])

    asyncio.run(race())
    counters, counts, _ = behaviour(settings)
    assert counters == {"behaviors": 3} and counts == EXPECTED_COUNTS


def test_the_first_user_keeps_a_visitor(settings: Settings) -> None:
    assert main(["setup"]) == 0
    other = "auth0|someone-else"
    index(settings, BEFORE, [identify(PHONE)], [identify(PHONE, "2026-11-20T12:00:00Z", other)])
    assert behaviour(settings)[0] == {"behaviors": 3}
    assert search.profile(settings, other) is not None
    assert (search.profile(settings, other) or {}).get("counters", {}) == {}
    assert record(settings, PHONE).user_id == USER


def test_erasing_the_user_erases_their_visitors(settings: Settings) -> None:
    assert main(["setup"]) == 0
    index(settings, BEFORE, [login(2, PHONE)])
    erase = Event.model_validate(envelope(type="user.deleted", user={"user_id": USER}))
    index(settings, [erase])
    assert search.count_events(settings, **{"user.id": f"anon:{PHONE}"}) == 0
    with search.client(settings) as es:
        names = Names(settings.name_prefix)
        es.indices.refresh(index=names.visitors_index)
        assert es.count(index=names.visitors_index)["count"] == 0
    audit = search.client(settings).search(index=Names(settings.name_prefix).audit_index)
    [entry] = [h["_source"] for h in audit["hits"]["hits"]]
    assert entry["visitors"] == 1 and entry["events"] == 4
    assert orjson.dumps(entry).find(PHONE.encode()) == -1  # the audit names no visitor
