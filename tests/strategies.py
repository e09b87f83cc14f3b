"""Hypothesis strategies for what publishers send: JSON of any shape, valid envelopes, and envelopes
that are wrong in the ways real publishers get them wrong. Shared by the fuzz properties."""

import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from schemas.envelope import SCHEMA_ID

# Strings that must never come back in an error (reasons may be shown to operators and kept in
# parking-lot headers; they say where and why, never what was sent).
MARKER = "PII\u2063"


def to_json(document: Any) -> bytes:
    """JSON as any publisher may write it: integers of any size (orjson stops at 64 bits)."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode()


def scalars(integers: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    return (
        st.none()
        | st.booleans()
        | integers
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=40)
    )


def json_like(integers: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(integers),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=16,
    )


json_scalars = scalars(st.integers())
json_values = json_like(st.integers())
"""Any JSON value, integers of any size included."""
sound_json_values = json_like(st.integers(min_value=-(2**63), max_value=2**63 - 1))
"""Any JSON value every reader takes (64-bit integers)."""
json_objects = st.dictionaries(st.text(max_size=12), sound_json_values, max_size=6)

KNOWN_TYPES = (
    "auth.signup",
    "auth.login",
    "auth.login_failed",
    "auth.logout",
    "user.updated",
    "user.deleted",
    "behavior.cart_item_added",
    "behavior.page_viewed",
    "profile.enriched",
    "profile.sentiment",
    "segment.entered",
    "segment.left",
    "auth0.gd_send_sms",
)
event_types = st.sampled_from(KNOWN_TYPES) | st.from_regex(
    r"\A[a-z][a-z0-9_]{0,8}(\.[a-z0-9_]{1,8}){1,3}\Z"
)
# Ids as Auth0 and shops write them, and in other scripts (multi-byte: limits are in bytes).
ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40
) | st.builds(
    lambda p, i: f"{p}|{i}", st.sampled_from(["auth0", "facebook", "twitter"]), st.uuids()
)

LATEST = datetime.now(UTC)
plausible_times = st.datetimes(
    min_value=datetime(2000, 1, 2),  # hypothesis wants naive bounds
    max_value=LATEST.replace(tzinfo=None) - timedelta(days=1),
    timezones=st.just(UTC),
)


def rfc3339(moment: datetime, style: int) -> str:
    """One instant in the spellings publishers use (with or without fraction, Z or offset)."""
    if style == 0:
        return moment.isoformat().replace("+00:00", "Z")
    if style == 1:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 2:
        return moment.astimezone(UTC).isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


timestamps = st.builds(rfc3339, plausible_times, st.integers(0, 3))
# Times a careless publisher sends: other formats, the far future, before the product existed.
odd_timestamps = st.one_of(
    timestamps,
    st.text(max_size=30),
    st.integers(),
    st.sampled_from(
        [
            "",
            " ",
            "9999-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-01-01",
            "2024-01-01T10:00:00",  # naive: read as UTC
            "2024-01-01T10:00:00+14:00",
            "2024-01-01 10:00:00Z",
            "1700000000",
            "tomorrow",
        ]
    ),
)

users = st.fixed_dictionaries(
    {"user_id": ids},
    optional={
        "email": st.emails() | st.text(max_size=20),
        "email_verified": st.booleans(),
        "name": st.text(max_size=30),
        "nickname": st.text(max_size=20),
        "gender": st.sampled_from(["male", "female", "M", "F", "Woman", "other", ""]),
        "birthday": st.sampled_from(["08/31/1990", "1990-08-31", "1990", "31/08/1990", ""]),
        "age": st.integers(-5, 150) | st.text(string.digits, max_size=3),
        "logins_count": st.integers(0, 10_000),
        "created_at": timestamps,
        "last_login": timestamps,
        "likes": st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=20)}, optional={"category": st.text()}),
            max_size=3,
        ),
        "identities": st.lists(
            st.fixed_dictionaries(
                {"provider": st.sampled_from(["auth0", "facebook", "twitter", "google-oauth2"])},
                optional={
                    "user_id": st.text(max_size=10) | st.integers(),
                    "profileData": json_objects,
                },
            ),
            max_size=2,
        ),
        "user_metadata": json_objects,
        "app_metadata": json_objects,
    },
)

envelopes = st.fixed_dictionaries(
    {
        "schema": st.just(SCHEMA_ID),
        "event_id": ids,
        "type": event_types,
        "occurred_at": timestamps,
        "user": users,
    },
    optional={
        "source": st.sampled_from(["auth0-action", "auth0-log-stream", "app", "authstream"]),
        "tenant": st.text(max_size=20),
        "context": st.fixed_dictionaries(
            {},
            optional={
                "ip": st.ip_addresses().map(str),
                "user_agent": st.text(max_size=40),
                "connection": st.sampled_from(["Username-Password-Authentication", "facebook"]),
                "geo": st.fixed_dictionaries(
                    {},
                    optional={
                        "country_code": st.sampled_from(["FR", "us", "DE"]),
                        "city": st.text(max_size=20),
                        "lat": st.floats(-90, 90),
                        "lon": st.floats(-180, 180),
                    },
                ),
            },
        ),
        "data": json_objects,
    },
)
"""Envelopes that satisfy the contract (the decoder must accept every one)."""


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


# Values that stress the contract: ids over the byte limits in few characters, huge and deep values.
hostile_values = st.one_of(
    json_values,
    odd_timestamps,
    st.integers(1, 400).map(lambda n: "\U0001f45f" * n),  # 4 bytes each: over 255 bytes from 64
    st.integers(1, 3).map(lambda n: "x" * (10**n * 100)),
    st.integers(1, 300).map(nested),
    st.just(MARKER + "secret-value"),
)

ENVELOPE_PATHS: tuple[tuple[str | int, ...], ...] = (
    ("schema",),
    ("event_id",),
    ("type",),
    ("occurred_at",),
    ("source",),
    ("tenant",),
    ("user",),
    ("user", "user_id"),
    ("user", "email"),
    ("user", "email_verified"),
    ("user", "name"),
    ("user", "age"),
    ("user", "logins_count"),
    ("user", "created_at"),
    ("user", "last_login"),
    ("user", "location"),
    ("user", "birthday"),
    ("user", "identities"),
    ("user", "identities", 0),
    ("user", "identities", 0, "profileData"),
    ("user", "user_metadata"),
    ("user", "app_metadata"),
    ("context",),
    ("context", "ip"),
    ("context", "geo"),
    ("context", "geo", "lat"),
    ("context", "geo", "city"),
    ("data",),
    ("extra_field",),
)

Mutation = tuple[tuple[str | int, ...], str, Any]
mutations = st.tuples(
    st.sampled_from(ENVELOPE_PATHS), st.sampled_from(["set", "delete"]), hostile_values
)


def mutate(document: dict[str, Any], mutation: Mutation) -> None:
    """Set or delete the value at a path, creating what is missing on the way (in place)."""
    path, action, value = mutation
    target: Any = document
    for key in path[:-1]:
        if isinstance(key, int):
            if not isinstance(target, list) or not target:
                return
            target = target[0]
            continue
        if not isinstance(target, dict):
            return
        nxt = target.get(key)
        if not isinstance(nxt, dict | list):
            nxt = [{}] if key == "identities" else {}
            target[key] = nxt
        target = nxt
    last = path[-1]
    if isinstance(last, int) or not isinstance(target, dict):
        return
    if action == "delete":
        target.pop(last, None)
    else:
        target[last] = value


# -- Auth0 Log Stream records --------------------------------------------------------------------

LOG_CODES = (
    "s",
    "ss",
    "f",
    "fp",
    "fu",
    "fs",
    "sdu",
    "slo",
    "sv",
    "sce",
    "seccft",
    "sapi",
    "gd_send_sms",
)
log_ids = st.from_regex(r"\A900\d{20,53}\Z")
log_data = st.fixed_dictionaries(
    {"date": timestamps, "type": st.sampled_from(LOG_CODES)},
    optional={
        "description": st.text(max_size=30),
        "connection": st.sampled_from(["Username-Password-Authentication", "google-oauth2"]),
        "client_id": st.from_regex(r"\A[A-Za-z0-9]{32}\Z"),
        "client_name": st.text(max_size=20),
        "ip": st.ip_addresses().map(str),
        "user_agent": st.text(max_size=40),
        "hostname": st.sampled_from(["innovashoes.eu.auth0.com", "login.shop.example"]),
        "user_id": st.sampled_from(["auth0|5f1d", "google-oauth2|1", "abc@clients"]),
        "user_name": st.emails() | st.text(max_size=20),
        "strategy": st.sampled_from(["auth0", "google-oauth2"]),
        "strategy_type": st.sampled_from(["database", "social"]),
        "details": json_objects,
    },
)
sound_log_records = st.builds(
    lambda log_id, data: {"log_id": log_id, "data": data}, log_ids, log_data
)
"""Records shaped as Auth0 writes them: each one must become an event."""

log_record_paths: tuple[tuple[str | int, ...], ...] = (
    ("log_id",),
    ("data",),
    ("data", "log_id"),
    ("data", "date"),
    ("data", "type"),
    ("data", "user_id"),
    ("data", "user_name"),
    ("data", "hostname"),
    ("data", "details"),
    ("data", "details", "stats", "loginsCount"),
    ("data", "details", "body", "tenant"),
    ("data", "details", "request", "path"),
    ("data", "ip"),
)
record_mutations = st.tuples(
    st.sampled_from(log_record_paths), st.sampled_from(["set", "delete"]), hostile_values
)


@st.composite
def log_records(draw: st.DrawFn) -> Any:
    """Sound records, records wrong in places, and anything at all where a record should be."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(json_values)
    record = draw(sound_log_records)
    if kind >= 5:
        for change in draw(st.lists(record_mutations, min_size=1, max_size=3)):
            mutate(record, change)
    return record
