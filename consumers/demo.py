"""``authstream demo``: a synthetic InnovaShoes tenant, end to end, then the campaign segments.

Realistic Auth0 profiles over facebook, google-oauth2, twitter and database connections, signups
spread over six months, logins, a share who never came back and a share who refused marketing —
published through the normal publish path and indexed by the real indexer. Event ids are derived
from the seed, so running the demo again changes nothing (exactly-once effect, visibly).
"""

import asyncio
import io
import random
import sys
import time
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from consumers import elastic, segments_cli
from consumers.names import Names
from consumers.provision import run_setup
from consumers.publish import publish_stream
from consumers.run import run_stages
from consumers.segments import load_segments
from consumers.settings import Settings

NAMESPACE = uuid.UUID("6b1d0f6e-6a55-4c44-9f43-2f6a1c0de001")
FIRST = [
    "Liam",
    "Noah",
    "Oliver",
    "James",
    "Lucas",
    "Mateo",
    "Emma",
    "Olivia",
    "Ava",
    "Sofía",
    "Zoë",
    "Hiro",
    "Amara",
    "Björn",
    "Chloé",
    "Diego",
    "Yuki",
    "Priya",
    "Kwame",
    "Ines",
]
LAST = [
    "Smith",
    "García",
    "Müller",
    "Rossi",
    "Kowalski",
    "Tanaka",
    "Okafor",
    "Dubois",
    "Silva",
    "Johansson",
    "Nguyen",
    "Patel",
    "O'Brien",
    "Novak",
    "Haddad",
]
LIKES = [
    ("Nike Running", "Sports"),
    ("Strava", "App"),
    ("CrossFit", "Fitness"),
    ("Yoga Journal", "Health & Wellness"),
    ("Patagonia", "Outdoors"),
    ("Spotify", "Music"),
    ("Lonely Planet", "Travel"),
    ("The Verge", "Technology"),
    ("Runner's World", "Magazine"),
]
CONNECTIONS = [
    ("facebook", "facebook", 0.4),
    ("google-oauth2", "google-oauth2", 0.25),
    ("twitter", "twitter", 0.15),
    ("Username-Password-Authentication", "auth0", 0.2),
]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def synthetic_event(
    seed: str,
    kind: str,
    at: datetime,
    user: dict[str, Any],
    connection: str,
    data: dict[str, Any] | None = None,
    source: str = "auth0-action",
) -> dict[str, Any]:
    return {
        "schema": "authstream.event/1",
        "event_id": str(uuid.uuid5(NAMESPACE, seed)),
        "type": kind,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "source": source,
        "tenant": "innovashoes",
        "user": user,
        "context": {
            "connection": connection,
            "ip": f"203.0.113.{hash(seed) % 250 + 1}",
            "geo": {"country_code": "US", "city": "Portland"},
        },
        "data": data or {},
    }


def synthetic_user(rng: random.Random, n: int, now: datetime) -> tuple[dict[str, Any], str]:
    """One realistic Auth0 profile (facebook, google-oauth2, twitter or database) and its
    connection; ``created_at`` is a signup within the last six months."""
    connection, provider = rng.choices(
        [c[:2] for c in CONNECTIONS], weights=[c[2] for c in CONNECTIONS]
    )[0]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    gender = rng.choice(["male", "male", "female", "female", None])
    age = rng.randint(16, 65)
    signup = now - timedelta(days=rng.randint(0, 180), minutes=rng.randint(0, 1440))
    uid = f"{provider}|{10_000 + n}"
    email = f"{_ascii(first)}.{_ascii(last)}{n}@example.com"
    user: dict[str, Any] = {
        "user_id": uid,
        "email": email,
        "email_verified": provider != "auth0",
        "name": f"{first} {last}",
        "nickname": first.lower(),
        "created_at": signup.isoformat(),
        "identities": [
            {
                "provider": provider,
                "user_id": str(10_000 + n),
                "connection": connection,
                "isSocial": provider != "auth0",
            }
        ],
        "user_metadata": {},
        "app_metadata": {},
    }
    if rng.random() < 0.15:
        user["app_metadata"]["marketing_consent"] = False
    elif rng.random() < 0.6:
        user["app_metadata"]["marketing_consent"] = True
    birth = signup.date().replace(year=signup.year - age) - timedelta(days=rng.randint(0, 364))
    likes = [{"name": n_, "category": c} for n_, c in rng.sample(LIKES, rng.randint(0, 3))]
    if provider == "facebook":
        user |= {"gender": gender, "birthday": birth.strftime("%m/%d/%Y"), "likes": likes}
    elif provider == "google-oauth2":
        user |= {"gender": gender, "given_name": first, "family_name": last}
        user["user_metadata"]["fullContactInfo"] = {
            "demographics": {"age": str(age), "gender": gender}
        }
    elif provider == "twitter":
        handle = f"{first.lower()}_{n}"
        user |= {"screen_name": handle}
        user["identities"][0]["profileData"] = {"screen_name": handle}
    else:
        user["user_metadata"] |= {
            "gender": gender,
            "interests": [like["name"] for like in likes],
        }
    return user, connection


def synthetic_tenant(
    users: int, seed: int = 7, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Envelopes for ``users`` synthetic InnovaShoes customers, in time order."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    events: list[dict[str, Any]] = []
    for n in range(users):
        user, connection = synthetic_user(rng, n, now)
        uid, signup = user["user_id"], datetime.fromisoformat(user["created_at"])
        logins = 0 if rng.random() < 0.3 else rng.randint(1, 8)
        user["logins_count"] = 1
        events.append(
            synthetic_event(f"{uid}/signup", "auth.signup", signup, dict(user), connection)
        )
        last_login = signup
        for k in range(logins):
            last_login = last_login + timedelta(
                days=rng.randint(1, 20), minutes=rng.randint(0, 600)
            )
            if last_login > now:
                break
            user = user | {"logins_count": k + 2, "last_login": last_login.isoformat()}
            events.append(
                synthetic_event(
                    f"{uid}/login/{k}", "auth.login", last_login, dict(user), connection
                )
            )
            if rng.random() < 0.3:
                events.append(
                    synthetic_event(
                        f"{uid}/cart/{k}",
                        "behavior.cart_item_added",
                        last_login,
                        {"user_id": uid},
                        connection,
                        {"sku": "RUN-X1", "category": "Running shoes"},
                        "app",
                    )
                )
        if uid.startswith("twitter|") and rng.random() < 0.7:
            score = round(rng.uniform(-1, 1), 2)
            label = "negative" if score < -0.2 else "positive" if score > 0.2 else "neutral"
            events.append(
                synthetic_event(
                    f"{uid}/sentiment",
                    "profile.sentiment",
                    last_login,
                    {"user_id": uid},
                    connection,
                    {"score": score, "label": label, "mentions": rng.randint(1, 9)},
                    "authstream",
                )
            )
    events.sort(key=lambda e: e["occurred_at"])
    return events


async def _indexed(settings: Settings, event_ids: list[str]) -> int:
    """How many of these events are searchable."""
    names = Names(settings.name_prefix)
    async with elastic.connect(settings) as es:
        not_yet = es.options(ignore_status=elastic.NOT_YET_SEARCHABLE)
        await not_yet.indices.refresh(index=names.events_stream)
        found = await not_yet.count(index=names.events_stream, query={"ids": {"values": event_ids}})
        return int(found.get("count", 0))


async def run_demo(settings: Settings, users: int, out: Any = None) -> None:
    out = out or sys.stdout
    await run_setup(settings)
    events = synthetic_tenant(users)
    body = b"\n".join(orjson.dumps(e) for e in events)
    print(f"InnovaShoes demo: {users:,} customers, {len(events):,} events", file=out)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_stages(settings, ["index"], stop))
    started = time.monotonic()
    report = await publish_stream(io.BytesIO(body), settings, total_bytes=len(body))
    print(f"published {report.published:,} events through RabbitMQ", file=out)
    event_ids = [e["event_id"] for e in events]
    while (done := await _indexed(settings, event_ids)) < len(events):
        if worker.done():
            await worker  # surfaces the worker's error
        if time.monotonic() - started > 300:
            raise RuntimeError(f"only {done:,} of {len(events):,} events indexed after 300 s")
        await asyncio.sleep(0.5)
    stop.set()
    await worker
    print(f"indexed {len(events):,} events in {time.monotonic() - started:.1f} s\n", file=out)
    async with elastic.connect(settings) as es:
        await es.indices.refresh(index=Names(settings.name_prefix).users_alias)
    for name in load_segments():
        print(await segments_cli.segment_report(settings, name, {}, size=3), file=out)
        print(file=out)
    print(
        "Try: authstream segments export preorder-running-men --format csv --output men.csv",
        file=out,
    )
