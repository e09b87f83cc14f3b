"""The fault suite's workload and its ground truth.

Three kinds of customers, so that every stage has work that can be checked afterwards:

* ``enriched``: database users with an email FullContact knows (a man born in 1990): the enrich
  stage finds him, the segments stage puts him in ``fc-men``, the destinations stage tells the
  ``fc-men`` webhook;
* ``fan``: Twitter users who complained about the brand on X: the sentiment stage scores them
  negative, they enter ``unhappy-fans``, whose webhook hears of it;
* ``logstream``: users known only by their id from Auth0 Log Stream records: the auth0 stage reads
  their profile from the Management API (a woman), they enter ``ls-women``, webhook again.

Each user signs up, logs in, fails a login now and then and puts things in a cart; about one
message in a hundred is poison (not JSON, no user, a wrong schema, a date that is not one). The
ground truth is what the publisher had confirmed: the valid events (each must be indexed once) and,
per user, the counters they must add up to.
"""

import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tests.standins import WebhookReceiver
from tests.standins.auth0_mgmt import Auth0StandIn
from tests.standins.fullcontact import FullContactStandIn
from tests.standins.x_api import XStandIn

BRAND = "InnovaShoes"
SEGMENT_OF = {"enriched": "fc-men", "fan": "unhappy-fans", "logstream": "ls-women"}
COUNTER_OF = {
    "auth.signup": "signups",
    "auth.login": "logins",
    "auth.login_failed": "failed_logins",
    "behavior.cart_item_added": "behaviors",
}
SEGMENT_FILES = {
    "fc-men": "where: {gender: male}\n",
    "unhappy-fans": (
        "where:\n  all:\n    - exists: twitter_handle\n    - sentiment.label: negative\n"
    ),
    "ls-women": "where: {gender: female}\n",
}
POISON = (
    b"{not json at all",
    b'{"schema": "authstream.event/1", "event_id": "%s", "type": "auth.login", '
    b'"occurred_at": "2026-11-01T10:00:00Z"}',  # no user
    b'{"schema": "authstream.event/9", "event_id": "%s", "type": "auth.login", '
    b'"occurred_at": "2026-11-01T10:00:00Z", "user": {"user_id": "auth0|x"}}',
    b'{"schema": "authstream.event/1", "event_id": "%s", "type": "auth.login", '
    b'"occurred_at": "yesterday", "user": {"user_id": "auth0|x"}}',
)


@dataclass(frozen=True)
class Message:
    message_id: str
    routing_key: str
    body: bytes
    user_id: str | None  # None: poison
    counter: str | None  # which profile counter this event adds one to


@dataclass(frozen=True)
class Customer:
    user_id: str
    kind: str

    @property
    def segment(self) -> str:
        return SEGMENT_OF[self.kind]


@dataclass
class Workload:
    customers: dict[str, Customer]
    messages: list[Message]

    @property
    def poison(self) -> set[str]:
        return {m.message_id for m in self.messages if m.user_id is None}

    def truth(self, confirmed: set[str]) -> dict[str, Counter[str]]:
        """Per user, the counters the confirmed events must add up to."""
        counts: dict[str, Counter[str]] = {user: Counter() for user in self.customers}
        for message in self.messages:
            if message.message_id in confirmed and message.user_id and message.counter:
                counts[message.user_id][message.counter] += 1
        return counts

    def valid(self, confirmed: set[str]) -> set[str]:
        return {m.message_id for m in self.messages if m.user_id and m.message_id in confirmed}


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _user(customer: Customer, n: int, at: datetime) -> dict[str, Any]:
    """What the publisher knows of the user: everything for Action users, the id for Log Stream."""
    if customer.kind == "logstream":
        return {"user_id": customer.user_id}
    identity: dict[str, Any]
    if customer.kind == "fan":
        identity = {"provider": "twitter", "user_id": f"{9000 + n}", "isSocial": True}
        extra: dict[str, Any] = {"screen_name": f"fan{n}", "nickname": f"fan{n}"}
    else:
        identity = {"provider": "auth0", "user_id": f"fc{n}", "isSocial": False}
        extra = {"email": f"fc{n}@example.com", "email_verified": True}
    return {
        "user_id": customer.user_id,
        "name": f"Customer {n}",
        "created_at": _stamp(at),
        "identities": [identity | {"connection": identity["provider"]}],
        **extra,
    }


def _envelope(event_type: str, customer: Customer, n: int, at: datetime, run: str) -> Message:
    source = "auth0-log-stream" if customer.kind == "logstream" else "auth0-action"
    event_id = f"{run}-{uuid.uuid4().hex[:12]}"
    body: dict[str, Any] = {
        "schema": "authstream.event/1",
        "event_id": event_id,
        "type": event_type,
        "occurred_at": _stamp(at),
        "source": source,
        "tenant": "innovashoes",
        "user": _user(customer, n, at),
        "context": {"ip": "203.0.113.7"},
    }
    if event_type.startswith("behavior."):
        body["data"] = {"product": "stride-2", "category": "running"}
    return Message(
        event_id, event_type, orjson.dumps(body), customer.user_id, COUNTER_OF[event_type]
    )


def build(
    users: int, events_per_user: int, *, seed: int = 15, poison_share: float = 0.01
) -> Workload:
    """``users`` customers (kinds in turn), each with a signup and ``events_per_user - 1`` more
    events, interleaved across users as a live tenant's are; poison mixed in at random."""
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:8]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    prefix = {"enriched": "auth0|fc", "fan": "twitter|", "logstream": "auth0|ls"}
    customers = {}
    for n in range(users):
        # One fan in six: the sentiment stage looks handles up one after another, about one a
        # second (it waits for each look-up's mentions to be searchable), the slowest stage here.
        kind = "fan" if n % 6 == 1 else "enriched" if n % 2 == 0 else "logstream"
        user_id = f"{prefix[kind]}{9000 + n if kind == 'fan' else n}"
        customers[user_id] = Customer(user_id, kind)
    numbered = list(enumerate(customers.values()))
    messages = [_envelope("auth.signup", c, n, start, run) for n, c in numbered]
    later = [
        (n, c, rng.choices(list(COUNTER_OF)[1:], (14, 2, 4))[0])
        for n, c in numbered
        for _ in range(events_per_user - 1)
    ]
    rng.shuffle(later)
    for number, (n, customer, event_type) in enumerate(later):
        at = start + timedelta(minutes=1 + number)
        messages.append(_envelope(event_type, customer, n, at, run))
    poisoned = []
    for message in messages:
        if rng.random() < poison_share:
            poison_id = f"{run}-poison-{len(poisoned)}"
            body = POISON[len(poisoned) % len(POISON)]
            poisoned.append(
                Message(
                    poison_id, "auth.login", body.replace(b"%s", poison_id.encode()), None, None
                )
            )
        poisoned.append(message)
    return Workload(customers, poisoned)


def seed_standins(
    workload: Workload, fullcontact: FullContactStandIn, x: XStandIn, auth0: Auth0StandIn
) -> None:
    """What the third parties know of the workload's customers."""
    for n, customer in enumerate(workload.customers.values()):
        if customer.kind == "enriched":
            fullcontact.add_person(
                f"fc{n}@example.com", f"Customer {n}", gender="Male", birthday=date(1990, 5, 17)
            )
        elif customer.kind == "fan":
            x.add_post(
                f"@{BRAND} my shoes fell apart after a week, terrible quality, never again",
                f"fan{n}",
            )
        else:
            auth0.add_user(
                {
                    "user_id": customer.user_id,
                    "email": f"ls{n}@example.com",
                    "name": f"Customer {n}",
                    "gender": "female",
                    "created_at": "2026-11-01T10:00:00.000Z",
                    "identities": [
                        {"provider": "auth0", "user_id": f"ls{n}", "connection": "auth0"}
                    ],
                }
            )


def write_segments(directory: Path, receiver: WebhookReceiver) -> None:
    """One segment per kind of customer, each with its webhook on the receiver."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, where in SEGMENT_FILES.items():
        (directory / f"{name}.yaml").write_text(
            f"{where}destinations:\n  - webhook: {receiver.base_url}/{name}\n"
            "    secret_env: AUTHSTREAM_FAULTS_HOOK_SECRET\n"
        )
