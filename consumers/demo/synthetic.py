"""A synthetic InnovaShoes tenant: realistic Auth0 profiles over facebook, google-oauth2,
twitter and database connections, signups spread over six months, logins, a share who never came
back and a share who refused marketing; and what its Twitter users post about the brand. Event
and post ids are derived from the seed, so the same tenant is the same events every time (used by
``authstream demo`` and the benchmarks).
"""

import hashlib
import random
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

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
        handle = f"{_ascii(first)}_{n}"  # X handles are ASCII letters, digits and _
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
            at = last_login + timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600))
            if at > now:
                break  # the future: not a login yet (and not a time any event may carry)
            last_login = at
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
    events.sort(key=lambda e: e["occurred_at"])
    return events


# What the demo's Twitter users say about the brand. Sentiment is not made up here: these posts
# go through `authstream mentions import` and the real sentiment stage, which scores them.
MENTION_TEXTS = {
    "negative": [
        "@InnovaShoes my Stride fell apart after three weeks. Not impressed.",
        "@InnovaShoes ordered two weeks ago and still waiting. No reply to my emails either.",
        "@InnovaShoes the sole is peeling off already, worst purchase this year",
        "@InnovaShoes refund still not here after a month. Terrible service.",
        "@InnovaShoes blisters after every run with the new Pace. Sending them back.",
        "@InnovaShoes box arrived crushed and the left shoe is half a size smaller 😡",
    ],
    "positive": [
        "Ran my first half marathon in @InnovaShoes today, so comfy! 🔥",
        "@InnovaShoes the Pace fits true to size and feels great on long runs",
        "Love my new @InnovaShoes, best running shoes I have owned",
        "Fast delivery and great support from @InnovaShoes, thank you!",
        "@InnovaShoes replaced my pair in two days. Amazing service 🙌",
    ],
    "neutral": [
        "@InnovaShoes do you ship to Canada?",
        "@InnovaShoes is the Stride good for trail running?",
        "Picked up a pair of @InnovaShoes at the mall today",
    ],
}
MOODS = (("negative", 0.35), ("positive", 0.45), ("neutral", 0.2))
STRANGERS = 10  # people who mention the brand but are not customers (yet): their posts are kept
_FIRST_POST_ID = 1_861_000_000_000_000_000
_POST_ID_SPAN = 10**17  # ids stay 19 digits, like X's of late 2024


def post_id_of(seed: int, author_id: str, handle: str, ordinal: int) -> str:
    """A post's id from who wrote it and which of their posts it is, never from its place in the
    list: the list changes with --users (a customer's posts come before the passers-by's), and
    the mention store keeps the first document under an id, so a positional id given to another
    author's post in an earlier run would never be scored for this one."""
    digest = hashlib.sha256(f"{seed}/{author_id}/{handle}/{ordinal}".encode()).digest()
    return str(_FIRST_POST_ID + int.from_bytes(digest[:8], "big") % _POST_ID_SPAN)


def _mention(post_id: str, handle: str, author_id: str, text: str, at: datetime) -> dict[str, Any]:
    return {
        "id": post_id,
        "handle": handle,
        "author_id": author_id,
        "text": text,
        "created_at": at.isoformat().replace("+00:00", "Z"),
        "url": f"https://x.com/{handle}/status/{post_id}",
        "lang": "en",
    }


def synthetic_mentions(
    events: list[dict[str, Any]], seed: int = 7, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Brand mentions (the `authstream mentions import` format) by most of the tenant's Twitter
    users, each in one mood, over the last month; and a few by strangers. Post ids follow from the
    seed and the author (``post_id_of``), so importing them again changes nothing, whatever
    --users was before."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    authors = {
        e["user"]["user_id"]: e["user"]["screen_name"]
        for e in events
        if e["type"] == "auth.signup" and e["user"]["user_id"].startswith("twitter|")
    }
    people = [(uid.removeprefix("twitter|"), handle) for uid, handle in sorted(authors.items())]
    people += [(str(90_000 + n), f"passer_by_{n}") for n in range(STRANGERS)]
    mentions: list[dict[str, Any]] = []
    for author_id, handle in people:
        rng = random.Random(f"{seed}/{author_id}")
        if rng.random() >= 0.7:
            continue  # a silent follower
        mood = rng.choices([m for m, _ in MOODS], weights=[w for _, w in MOODS])[0]
        for ordinal in range(rng.randint(1, 3)):
            at = now - timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 1440))
            text = rng.choice(MENTION_TEXTS[mood])
            post_id = post_id_of(seed, author_id, handle, ordinal)
            mentions.append(_mention(post_id, handle, author_id, text, at))
    return mentions
