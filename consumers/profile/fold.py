"""The fold that merges events into a user profile (pure, order-tolerant).

Merge rules (design.md): first_seen/signed_up_at are minima, last_login/last_seen maxima;
logins_count is the maximum Auth0 reported; identity fields are last-writer-wins by occurred_at,
and a sparse event (a shop sending only a new name) changes only what it mentions; enrichment
blocks are replaced as a whole when newer; interests are a union remembering sources; consent is
the latest explicit statement (``facts.consent``). Log Stream events carry no profile: the address
a log record proves only fills a gap (it never replaces what a full profile said), and a proven
verification competes by time.
Our own counters count each event once: a profile remembers the ids of the last events it folded
(``applied_events``), and it is written with optimistic concurrency, so the counters and that memory
change atomically — a redelivered event is recognised even if the process died after writing.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from consumers.pipeline.decode import describe_validation_error
from consumers.profile.fact_fields import remembered_fields
from consumers.profile.facts import Blob, Origin, Taxonomy
from consumers.profile.facts.consent import Consent, merge_consent, stated_consent
from consumers.profile.facts.interests import add_interests, interests_from
from consumers.profile.facts.sources import fullcontact_blobs
from consumers.profile.field_names import FINDING_UNINDEXED, indexable
from consumers.profile.findings import sentiment_block_data
from consumers.profile.model import (
    APPLIED_EVENTS_KEPT,
    BEHAVIOR_KINDS_KEPT,
    OTHER_BEHAVIOR,
    BehaviorCount,
    Block,
    ConsentRecord,
    Profile,
    SegmentMembership,
    event_fingerprint,
)
from consumers.profile.searchable import search_text
from schemas import Event

PROFILE_EVENT_TYPES = frozenset({"auth.signup", "auth.login", "user.updated"})
PROFILELESS_SOURCES = frozenset({"auth0-log-stream"})
# A stamp that sorts before every timestamp: what it writes fills a gap and loses to any event
# that carries a real profile, whatever their order.
GAP_FILLER = "0000|"
# Counters with fixed names: event types never become field names (mapping safety).
COUNTED = {
    "auth.signup": "signups",
    "auth.login": "logins",
    "auth.login_failed": "failed_logins",
    "auth.logout": "logouts",
}
# Parts of the Auth0 profile merged key by key, so a sparse update keeps what it does not mention.
MERGED_OBJECTS = ("user_metadata", "app_metadata")

FindingFolder = Callable[[Profile, Event], None]
"""Folds one stage finding (``profile.sentiment``, ...) into a profile; registered in FINDINGS."""


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _count(profile: Profile, key: str) -> None:
    profile.counters[key] = profile.counters.get(key, 0) + 1


def merge_snapshot(
    stored: dict[str, Any], stamps: dict[str, str], incoming: dict[str, Any], stamp: str
) -> None:
    """Update the stored Auth0 profile with what an event says, key by key, in place.

    Each key keeps the stamp (time, then event id) of the event that wrote it and changes only
    for a later one: a last-writer-wins register per key, so the result is the same whatever
    order the events arrive in, and a sparse event changes only the keys it mentions. The
    metadata objects are merged one level deeper, because rules update them piecemeal.
    """
    for key, value in incoming.items():
        if key in MERGED_OBJECTS and isinstance(value, dict):
            target = stored.setdefault(key, {})
            if not isinstance(target, dict):
                target = stored[key] = {}
            for sub, sub_value in value.items():
                if stamp >= stamps.get(f"{key}.{sub}", ""):
                    target[sub] = sub_value
                    stamps[f"{key}.{sub}"] = stamp
        elif stamp >= stamps.get(key, ""):
            stored[key] = value
            stamps[key] = stamp


def _normalised_email(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def _stamp(event: Event) -> str:
    # ISO times in UTC sort as text; the event id breaks ties the same way in every order.
    return f"{event.occurred_at.isoformat()}|{event.event_id}"


def _apply_identity(profile: Profile, event: Event, said: dict[str, Any]) -> None:
    """What Auth0 says about who the user is, merged key by key (``merge_snapshot``)."""
    stamp = _stamp(event)
    context = {
        "_tenant": event.tenant,
        "_connection": event.context.connection,
        "_geo": event.context.geo.model_dump(mode="json", exclude_none=True)
        if event.context.geo is not None
        else None,
    }
    merge_snapshot(
        profile.auth0,
        profile.auth0_stamps,
        said | {k: v for k, v in context.items() if v is not None},
        stamp,
    )
    profile.identity_updated_at = _max(profile.identity_updated_at, event.occurred_at)


def _apply_proven(profile: Profile, event: Event, said: dict[str, Any]) -> None:
    """What a log record proves about its user. The address fills a gap (a Log Stream-only
    user has no other) but never replaces what a full profile said; a verification is a dated
    fact and competes by time."""
    stamp = _stamp(event)
    if "email" in said:
        merge_snapshot(
            profile.auth0, profile.auth0_stamps, {"email": said["email"]}, GAP_FILLER + stamp
        )
    if "email_verified" in said:
        merge_snapshot(
            profile.auth0, profile.auth0_stamps, {"email_verified": said["email_verified"]}, stamp
        )


def _identity_fields(profile: Profile) -> None:
    """The profile's identity fields, read from the merged snapshot."""
    snapshot = profile.auth0
    profile.tenant = snapshot.get("_tenant") or profile.tenant
    profile.connection = snapshot.get("_connection") or profile.connection
    profile.last_geo = snapshot.get("_geo") or profile.last_geo
    profile.email = _normalised_email(snapshot.get("email"))
    verified = snapshot.get("email_verified")
    profile.email_verified = verified if isinstance(verified, bool) else None
    profile.name, profile.nickname, profile.picture = (
        value if isinstance(value := snapshot.get(k), str) else None
        for k in ("name", "nickname", "picture")
    )
    identities = snapshot.get("identities") or []
    profile.providers = sorted(
        {i["provider"] for i in identities if isinstance(i, dict) and i.get("provider")}
    )


def _apply_consent(profile: Profile, event: Event, said: dict[str, Any]) -> None:
    statement = stated_consent(said)
    if statement is None:
        return
    state, field = statement
    current = Consent(profile.consent.state, profile.consent.source, profile.consent.at)
    merged = merge_consent(
        current, state, f"{event.source or 'unknown'}: {field}", event.occurred_at
    )
    profile.consent = ConsentRecord(state=merged.state, source=merged.source, at=merged.at)
    profile.marketing_consent = merged.state


def enrichment_block(event: Event) -> Block:
    """A ``profile.enriched`` event as a block: status, provider, when it was observed, and the
    provider's raw answer in ``response`` (kept, not mapped field by field)."""
    data = indexable(event.data, FINDING_UNINDEXED)
    return Block.model_validate(
        {
            **data,
            "status": data.get("status") or "enriched",
            "provider": data.get("provider") or "fullcontact",
            "updated_at": data.get("updated_at") or event.occurred_at,
        }
    )


def _canonical(block: Block) -> bytes:
    # As written and read back: a key whose value JSON writes as null (none, a NaN) is not
    # written at all (``exclude_none``), so it must not decide a tie either.
    dumped = block.model_dump(mode="json")
    return orjson.dumps(
        {k: v for k, v in dumped.items() if v is not None}, option=orjson.OPT_SORT_KEYS
    )


def _newer(current: Block | None, incoming: Block) -> Block:
    """The later finding; of two made at the same instant, the same one whatever their order."""
    if current is None or incoming.updated_at > current.updated_at:
        return incoming
    if incoming.updated_at < current.updated_at:
        return current
    return max(current, incoming, key=_canonical)


def _apply_enrichment(profile: Profile, event: Event) -> None:
    block = enrichment_block(event)
    provider = block.provider or "fullcontact"
    profile.enrichment[provider] = _newer(profile.enrichment.get(provider), block)


def _apply_sentiment(profile: Profile, event: Event) -> None:
    incoming = Block.model_validate(
        {
            "status": "ok",
            **sentiment_block_data(indexable(event.data, FINDING_UNINDEXED)),
            "updated_at": event.data.get("updated_at") or event.occurred_at,
        }
    )
    profile.sentiment = _newer(profile.sentiment, incoming)


def _apply_segment(profile: Profile, event: Event) -> None:
    """``segment.entered`` / ``segment.left``: the n-th entry or exit of a segment (odd numbers
    enter). The highest number folded wins, so order and redelivery do not matter."""
    name, number = event.data.get("segment"), event.data.get("transition")
    if not isinstance(name, str) or not isinstance(number, int) or isinstance(number, bool):
        return
    if number < 1 or (number % 2 == 1) != (event.type == "segment.entered"):
        return
    known = profile.segment_transitions.get(name, 0)
    if number < known:
        return  # older news
    kept = [m for m in profile.segments if m.name != name]
    entered_at = event.occurred_at
    if number == known:
        # The same entry announced twice (two evaluations raced): the earliest moment, whatever
        # the order they arrive in. The same exit twice changes nothing.
        current = next((m for m in profile.segments if m.name == name), None)
        if number % 2 == 0 or current is None or current.entered_at <= entered_at:
            return
    profile.segment_transitions = {**profile.segment_transitions, name: number}
    if number % 2 == 1:
        kept.append(SegmentMembership(name=name, entered_at=entered_at))
    profile.segments = sorted(kept, key=lambda m: m.name)


# One registration line per kind of stage finding the index stage folds.
FINDINGS: dict[str, FindingFolder] = {
    "profile.enriched": _apply_enrichment,
    "profile.sentiment": _apply_sentiment,
    "segment.entered": _apply_segment,
    "segment.left": _apply_segment,
}


def finding_problem(event: Event) -> str | None:
    """Why this stage finding cannot be folded into any profile (a key its block's mapping would
    refuse, a date that is none), or None: folded into a blank profile, it must not raise."""
    folder = FINDINGS.get(event.type)
    if folder is None:
        return None
    try:
        folder(Profile(user_id=event.user.user_id), event)
    except ValidationError as exc:
        return f"a {event.type} finding that cannot be stored: {describe_validation_error(exc)}"
    return None


# Findings about the profile rather than the user: they do not make the user "seen" (a segment
# entry that moved last_seen could make the user leave an "inactive" segment, and so on).
NOT_ACTIVITY = frozenset({"segment.entered", "segment.left"})


def _remember(profile: Profile, found: dict[str, set[str]]) -> None:
    for interest, sources in found.items():
        known = set(profile.seen_interests.get(interest, []))
        profile.seen_interests[interest] = sorted(known | sources)


def _count_behavior(profile: Profile, action: str, at: datetime) -> None:
    known = {b.action: b for b in profile.behaviors}
    # The last place is kept for "other". Which actions get a place of their own depends on
    # arrival order once a profile has that many: a case of abuse, not of order-tolerance.
    named = len(known) - (OTHER_BEHAVIOR in known)
    if action not in known and named >= BEHAVIOR_KINDS_KEPT - 1:
        action = OTHER_BEHAVIOR
    entry = known.get(action)
    if entry is None:
        entry = BehaviorCount(action=action)
        # In a fixed order, not in the order actions were first seen: the same profile whatever
        # order its events arrive in.
        profile.behaviors = sorted([*profile.behaviors, entry], key=lambda b: b.action)
    entry.count += 1
    entry.last_at = _max(entry.last_at, at)


def _user_blob(data: dict[str, Any], at: datetime) -> Blob:
    return Blob(data, Origin("auth0", at.date()), "user")


def _apply_event(profile: Profile, event: Event, taxonomy: Taxonomy) -> None:
    at, kind, user = event.occurred_at, event.type, event.user
    if kind not in NOT_ACTIVITY:
        profile.first_seen = _min(profile.first_seen, at)
        profile.last_seen = _max(profile.last_seen, at)
    profile.signed_up_at = _min(profile.signed_up_at, user.created_at)
    if user.logins_count is not None:
        profile.logins_count = max(profile.logins_count or 0, user.logins_count)
    profile.last_login = _max(profile.last_login, user.last_login)
    if event.context.connection and event.context.connection not in profile.connections:
        profile.connections = sorted({*profile.connections, event.context.connection})
    # What this event actually says (not the model's defaults): sparse events change only that.
    said = user.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    # Log Stream events name the user but carry no profile: they must not overwrite one.
    if event.source in PROFILELESS_SOURCES:
        _apply_proven(profile, event, said)
    elif kind in PROFILE_EVENT_TYPES:
        _apply_identity(profile, event, said)
    _apply_consent(profile, event, said)
    # Interests are a union over everything ever seen, so they are taken from each event as it is
    # folded (not from the latest snapshot): the result is the same in any order and batching.
    enrichment = []
    if kind == "profile.enriched" and isinstance(event.data.get("response"), dict):
        block = enrichment_block(event)
        enrichment = [Blob(event.data["response"], Origin(block.provider or "", at.date()))]
    user_blob = _user_blob(said, at)
    _remember(profile, interests_from(said, fullcontact_blobs(user_blob, enrichment), taxonomy))
    if kind in COUNTED:
        _count(profile, COUNTED[kind])
    if kind == "auth.signup":
        profile.signed_up_at = _min(profile.signed_up_at, at)
    elif kind == "auth.login":
        profile.last_login = _max(profile.last_login, at)
    elif kind == "auth.login_failed":
        profile.last_failed_login = _max(profile.last_failed_login, at)
    elif kind.startswith("behavior."):
        _count(profile, "behaviors")
        _count_behavior(profile, kind.removeprefix("behavior."), at)
        found: dict[str, set[str]] = {}
        texts = [str(event.data[k]) for k in ("category", "product_category") if event.data.get(k)]
        add_interests(found, texts, "behavior", taxonomy)
        _remember(profile, found)
    elif kind in FINDINGS:
        FINDINGS[kind](profile, event)


def _copied(location: dict[str, Any] | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {k: dict(v) if isinstance(v, dict) else v for k, v in location.items()}


def _search_inputs(profile: Profile) -> tuple[Any, ...]:
    return (
        profile.name,
        profile.nickname,
        profile.email,
        profile.twitter_handle,
        profile.location,
        profile.interests,
    )


def _derive_facts(
    profile: Profile, taxonomy: Taxonomy, now: datetime, before: Profile | None = None
) -> None:
    """Recompute every derived fact from the stored state, so folding order never matters.
    Each source is dated by when it was observed, never by ``now`` unless it has no date."""
    _identity_fields(profile)
    user = _user_blob(profile.auth0, profile.identity_updated_at or now)
    enrichment = [
        Blob(
            response,
            Origin(provider, block.updated_at.date()),
            f"enrichment.{provider}.response",
        )
        for provider, block in sorted(profile.enrichment.items())
        if block.status == "enriched" and isinstance(response := block.finding("response"), dict)
    ]
    geo = (
        Blob(
            profile.last_geo,
            Origin("auth0", (profile.last_seen or now).date()),
            "context.geo",
        )
        if profile.last_geo
        else None
    )
    # Derived again from the stored sources on every write (remembered by their digest: most
    # writes change none of them).
    fields = remembered_fields(user, enrichment, geo, taxonomy)
    profile.gender = fields.gender
    profile.birth_date = fields.birth_date
    profile.birth_date_precision = fields.birth_date_precision
    profile.twitter_handle = fields.twitter_handle
    # Copies: the remembered fields are shared by every profile with the same sources.
    profile.location = _copied(fields.location)
    profile.employment = dict(fields.employment) if fields.employment is not None else None
    profile.provenance = dict(fields.provenance)
    _remember(profile, fields.interests)
    profile.interest_sources = dict(sorted(profile.seen_interests.items()))
    profile.interests = sorted(profile.seen_interests)
    registered = profile.signed_up_at
    profile.returned = bool(
        registered and profile.last_login and profile.last_login.date() > registered.date()
    )
    # Most logins change none of what a profile is found by: keep its words (a twentieth of the
    # index stage's CPU was spent folding the same words again).
    if before is None or before.search is None or _search_inputs(before) != _search_inputs(profile):
        profile.search = search_text(profile)


def _copy(profile: Profile) -> Profile:
    """A copy fold may change without touching the original, without a costly deep copy: folding
    replaces fields whole, except these containers, which it changes in place."""
    return profile.model_copy(
        update={
            "counters": dict(profile.counters),
            "seen_interests": dict(profile.seen_interests),
            "applied_events": list(profile.applied_events),
            "enrichment": dict(profile.enrichment),
            "behaviors": [b.model_copy() for b in profile.behaviors],
            "outbox": list(profile.outbox),
            "auth0": {k: dict(v) if isinstance(v, dict) else v for k, v in profile.auth0.items()},
            "auth0_stamps": dict(profile.auth0_stamps),
        }
    )


def fold(
    current: Profile | None, events: Iterable[Event], taxonomy: Taxonomy, now: datetime
) -> tuple[Profile, list[Event]]:
    """Merge events into a profile. Returns the new profile and the events that were new to it."""
    events = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
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
        _derive_facts(profile, taxonomy, now, current)
        profile.updated_at = now
        profile.version += 1
    return profile, applied


def tombstone(user_id: str, deleted_at: datetime, applied: list[str]) -> Profile:
    """What stays of an erased user: enough to refuse late events, nothing personal."""
    return Profile(
        user_id=user_id,
        deleted_at=deleted_at,
        updated_at=deleted_at,
        applied_events=applied[-APPLIED_EVENTS_KEPT:],
    )
