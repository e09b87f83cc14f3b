"""The fold that merges events into a user profile (pure, order-tolerant).

Merge rules (design.md): first_seen/signed_up_at are minima, last_login/last_seen maxima;
logins_count is the maximum Auth0 reported; identity fields are last-writer-wins by occurred_at;
enrichment blocks are replaced as a whole when newer; interests are a union remembering sources.
Our own counters count each event once: a profile remembers the ids of the last events it folded
(``applied_events``), and it is written with optimistic concurrency, so the counters and that memory
change atomically — a redelivered event is recognised even if the process died after writing.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from consumers.profile.facts import Taxonomy, facts_from
from consumers.profile.facts.interests import add_interests, interests_from
from consumers.profile.facts.sources import fullcontact_blobs
from consumers.profile.model import APPLIED_EVENTS_KEPT, Block, Profile, event_fingerprint
from schemas import Event

PROFILE_EVENT_TYPES = frozenset({"auth.signup", "auth.login", "user.updated"})
PROFILELESS_SOURCES = frozenset({"auth0-log-stream"})


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _count(profile: Profile, key: str) -> None:
    profile.counters[key] = profile.counters.get(key, 0) + 1


def _apply_identity(profile: Profile, event: Event, user_data: dict[str, Any]) -> None:
    """Last writer wins (by occurred_at) for everything Auth0 says about who the user is."""
    if profile.identity_updated_at and event.occurred_at < profile.identity_updated_at:
        return
    user = event.user
    profile.identity_updated_at = event.occurred_at
    profile.tenant = event.tenant or profile.tenant
    profile.email = user.email.strip().lower() if user.email else None
    profile.email_verified = user.email_verified
    profile.name, profile.nickname, profile.picture = user.name, user.nickname, user.picture
    profile.connection = event.context.connection or profile.connection
    profile.providers = sorted({i.provider for i in user.identities if i.provider})
    profile.auth0 = user_data
    if event.context.geo is not None:
        profile.last_geo = event.context.geo.model_dump(mode="json", exclude_none=True)


def _apply_block(current: Block | None, event: Event) -> Block:
    incoming = Block.model_validate({"status": "ok", **event.data, "updated_at": event.occurred_at})
    return incoming if current is None or incoming.updated_at >= current.updated_at else current


def _remember(profile: Profile, found: dict[str, set[str]]) -> None:
    for interest, sources in found.items():
        known = set(profile.seen_interests.get(interest, []))
        profile.seen_interests[interest] = sorted(known | sources)


def _apply_event(profile: Profile, event: Event, taxonomy: Taxonomy) -> None:
    at, kind, user = event.occurred_at, event.type, event.user
    profile.first_seen = _min(profile.first_seen, at)
    profile.last_seen = _max(profile.last_seen, at)
    profile.signed_up_at = _min(profile.signed_up_at, user.created_at)
    if user.logins_count is not None:
        profile.logins_count = max(profile.logins_count or 0, user.logins_count)
    profile.last_login = _max(profile.last_login, user.last_login)
    if event.context.connection and event.context.connection not in profile.connections:
        profile.connections = sorted({*profile.connections, event.context.connection})
    user_data = user.model_dump(mode="json", exclude_none=True)
    # Log Stream events name the user but carry no profile: they must not overwrite one.
    if kind in PROFILE_EVENT_TYPES and event.source not in PROFILELESS_SOURCES:
        _apply_identity(profile, event, user_data)
    # Interests are a union over everything ever seen, so they are taken from each event as it is
    # folded (not from the latest snapshot): the result is the same in any order and batching.
    enrichment = event.data if kind == "profile.enriched" else None
    _remember(
        profile, interests_from(user_data, fullcontact_blobs(user_data, enrichment), taxonomy)
    )
    if kind == "auth.signup":
        profile.signed_up_at = _min(profile.signed_up_at, at)
        _count(profile, "signups")
    elif kind == "auth.login":
        profile.last_login = _max(profile.last_login, at)
        _count(profile, "logins")
    elif kind == "auth.login_failed":
        profile.last_failed_login = _max(profile.last_failed_login, at)
        _count(profile, "failed_logins")
    elif kind == "auth.logout":
        _count(profile, "logouts")
    elif kind.startswith("behavior."):
        _count(profile, kind.replace(".", "_"))
        found: dict[str, set[str]] = {}
        texts = [str(event.data[k]) for k in ("category", "product_category") if event.data.get(k)]
        add_interests(found, texts, "behavior", taxonomy)
        _remember(profile, found)
    elif kind == "profile.enriched" and event.data.get("provider", "fullcontact") == "fullcontact":
        profile.fullcontact = _apply_block(profile.fullcontact, event)
    elif kind == "profile.sentiment":
        profile.sentiment = _apply_block(profile.sentiment, event)


def _derive_facts(profile: Profile, taxonomy: Taxonomy) -> None:
    """Recompute every derived fact from the stored state, so folding order never matters."""
    enrichment = profile.fullcontact.model_dump(mode="json") if profile.fullcontact else None
    facts = facts_from(profile.auth0, enrichment, profile.last_geo, taxonomy)
    profile.gender = facts.gender
    profile.birth_date = facts.birth.value if facts.birth else None
    profile.birth_date_precision = facts.birth.precision if facts.birth else None
    profile.twitter_handle = facts.twitter_handle
    profile.marketing_consent = facts.marketing_consent
    if facts.location:
        point = (
            {"lat": facts.location.lat, "lon": facts.location.lon}
            if facts.location.lat is not None and facts.location.lon is not None
            else None
        )
        profile.location = {
            k: v
            for k, v in {
                "country_code": facts.location.country_code,
                "city": facts.location.city,
                "region": facts.location.region,
                "point": point,
            }.items()
            if v is not None
        }
    _remember(profile, facts.interests)
    profile.interest_sources = dict(sorted(profile.seen_interests.items()))
    profile.interests = sorted(profile.seen_interests)
    registered = profile.signed_up_at
    profile.returned = bool(
        registered and profile.last_login and profile.last_login.date() > registered.date()
    )


def _copy(profile: Profile) -> Profile:
    """A copy fold may change without touching the original, without a costly deep copy: folding
    replaces fields whole, except these three containers, which it changes in place."""
    return profile.model_copy(
        update={
            "counters": dict(profile.counters),
            "seen_interests": dict(profile.seen_interests),
            "applied_events": list(profile.applied_events),
        }
    )


def fold(
    current: Profile | None, events: Iterable[Event], taxonomy: Taxonomy, now: datetime
) -> tuple[Profile, list[Event]]:
    """Merge events into a profile. Returns the new profile and the events that were new to it."""
    events = sorted(events, key=lambda e: e.occurred_at)
    profile = _copy(current) if current else Profile(user_id=events[0].user.user_id)
    seen = set(profile.applied_events)
    applied: list[Event] = []
    for event in events:
        fingerprint = event_fingerprint(event.event_id)
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        _apply_event(profile, event, taxonomy)
        profile.applied_events.append(fingerprint)
        applied.append(event)
    profile.applied_events = profile.applied_events[-APPLIED_EVENTS_KEPT:]
    if applied:
        _derive_facts(profile, taxonomy)
        profile.updated_at = now
    return profile, applied


def tombstone(user_id: str, deleted_at: datetime, applied: list[str]) -> Profile:
    """What stays of an erased user: enough to refuse late events, nothing personal."""
    return Profile(
        user_id=user_id,
        deleted_at=deleted_at,
        updated_at=deleted_at,
        applied_events=applied[-APPLIED_EVENTS_KEPT:],
    )
