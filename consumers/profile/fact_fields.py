"""The profile fields derived from facts, remembered by their sources. Pure.

The fold derives every fact again from the profile's stored sources on every write, so that
folding order never matters (``fold._derive_facts``). Most writes are logins that change none of
those sources, and deriving was a sixth of the index stage's CPU. Facts are a pure function of
their sources (the Auth0 snapshot, the enrichment answers, the last geo, each with the day it was
observed, the taxonomy, and today's date, which bounds plausible birth years), so the fields are
kept per digest of exactly those inputs: a repeat is the same answer, not an approximation. A
process keeps at most ``CACHE_LIMIT`` answers (the least recently used goes first), and a new
process simply derives them again.

Keys of the snapshot that change on every login and that no fact reads (``UNREAD_KEYS``) are
left out of the sources, for the cache and for the derivation alike; a test checks that facts
derived with and without them are the same.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

import orjson

from consumers.profile.facts import Blob, Fact, Taxonomy, UserFacts, facts_from
from consumers.profile.model import Provenance

# What Auth0 (or the fold: ``_tenant``, ``_connection``, ``_geo``) keeps in the snapshot that no
# fact is read from; the geo is a source of its own (``last_geo``).
UNREAD_KEYS = frozenset(
    {
        "logins_count",
        "last_login",
        "last_ip",
        "updated_at",
        "created_at",
        "_tenant",
        "_connection",
        "_geo",
    }
)
# About 1 KB per answer in a worker (measured on the benchmark's users, with the provenance
# records shared; 2-4 KB before): 40,000 cost about 40 MB. The least recently used answer goes
# first: a user's logins cluster in time, so the answers wanted again are the recent ones. (At
# 10,000, cleared when full, a 200,000-event run with 40,000 users found fewer and fewer of its
# answers: the index stage's CPU per event rose by a sixth over the run.)
CACHE_LIMIT = 40_000


@dataclass(frozen=True)
class FactFields:
    """What the facts set in a profile. Shared between profiles: never changed in place."""

    gender: str | None
    birth_date: date | None
    birth_date_precision: str | None
    twitter_handle: str | None
    location: dict[str, Any] | None
    employment: dict[str, Any] | None
    provenance: dict[str, Provenance]
    interests: dict[str, set[str]]  # interest -> sources


def read_sources(user: Blob) -> Blob:
    """The user's snapshot without the keys no fact reads."""
    if UNREAD_KEYS.isdisjoint(user.data):
        return user
    data = {k: v for k, v in user.data.items() if k not in UNREAD_KEYS}
    return Blob(data, user.origin, user.path)


# Provenance records repeat across users (the same source, field and day): each is made once and
# shared, never changed in place, like the answers that hold them (they were half of an answer's
# memory, and most of the time spent making one).
_PROVENANCE: dict[tuple[str, str, str], Provenance] = {}


def _provenance(fact: Fact[Any] | None) -> Provenance | None:
    if not fact:
        return None
    raw = fact.provenance()
    key = (raw["source"], raw["field"], raw["observed_on"])
    found = _PROVENANCE.get(key)
    if found is None:
        if len(_PROVENANCE) >= CACHE_LIMIT:
            _PROVENANCE.clear()
        found = _PROVENANCE[key] = Provenance.model_validate(raw)
    return found


def fields_of(facts: UserFacts) -> FactFields:
    location = None
    if facts.location:
        where = facts.location.value
        point = (
            {"lat": where.lat, "lon": where.lon}
            if where.lat is not None and where.lon is not None
            else None
        )
        location = {
            k: v
            for k, v in {
                "country_code": where.country_code,
                "city": where.city,
                "region": where.region,
                "point": point,
            }.items()
            if v is not None
        }
    employment = facts.employment.value if facts.employment else None
    return FactFields(
        gender=facts.gender.value if facts.gender else None,
        birth_date=facts.birth.value.value if facts.birth else None,
        birth_date_precision=facts.birth.value.precision if facts.birth else None,
        twitter_handle=facts.twitter_handle.value if facts.twitter_handle else None,
        location=location,
        employment=(
            {"organization": employment.organization, "title": employment.title}
            if employment
            else None
        ),
        provenance={
            name: provenance
            for name, fact in (
                ("gender", facts.gender),
                ("birth_date", facts.birth),
                ("twitter_handle", facts.twitter_handle),
                ("location", facts.location),
                ("employment", facts.employment),
            )
            if (provenance := _provenance(fact)) is not None
        },
        interests=facts.interests,
    )


def derive_fields(
    user: Blob, enrichment: list[Blob], geo: Blob | None, taxonomy: Taxonomy
) -> FactFields:
    """The fields, derived from these sources (the slow path, and the reference)."""
    return fields_of(facts_from(read_sources(user), enrichment, geo, taxonomy))


def _blob_key(blob: Blob | None) -> Any:
    if blob is None:
        return None
    return (blob.data, blob.origin.source, blob.origin.observed_on, blob.path)


def sources_digest(user: Blob, enrichment: list[Blob], geo: Blob | None) -> bytes | None:
    """A digest of everything the facts are derived from (taxonomy aside), or None when the
    sources are not plain JSON (then they are derived without the cache)."""
    try:
        encoded = orjson.dumps(
            (
                date.today(),
                _blob_key(read_sources(user)),
                [_blob_key(blob) for blob in enrichment],
                _blob_key(geo),
            ),
            option=orjson.OPT_SORT_KEYS,
        )
    except orjson.JSONEncodeError:
        return None
    return hashlib.blake2b(encoded, digest_size=16).digest()


_CACHES: "WeakKeyDictionary[Taxonomy, dict[bytes, FactFields]]" = WeakKeyDictionary()


def remembered_fields(
    user: Blob, enrichment: list[Blob], geo: Blob | None, taxonomy: Taxonomy
) -> FactFields:
    """``derive_fields``, remembered per taxonomy by the digest of the sources."""
    digest = sources_digest(user, enrichment, geo)
    if digest is None:
        return derive_fields(user, enrichment, geo, taxonomy)
    cache = _CACHES.setdefault(taxonomy, {})
    found = cache.pop(digest, None)
    if found is None:
        found = derive_fields(user, enrichment, geo, taxonomy)
        if len(cache) >= CACHE_LIMIT:
            del cache[next(iter(cache))]  # the least recently used
    cache[digest] = found  # now the most recently used
    return found
