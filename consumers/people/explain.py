"""One profile as text that says where each fact came from (``authstream users show``). Pure.

Identity fields come from the merged Auth0 snapshot, each key from the latest event that set it
(``auth0_stamps``); derived facts carry their ``provenance`` (source, field, day observed);
interests their sources; consent its statement and date. Works on the stored document (a dict),
so a profile written by an older or newer version still shows what it has.
"""

from datetime import date
from typing import Any

INTEREST_SOURCES = {
    "declared": "declared by the user (user_metadata.interests)",
    "facebook": "Facebook likes",
    "behavior": "behaviour events (product categories)",
    "fullcontact": "FullContact interests",
}
FACT_LABELS = (
    ("gender", "gender"),
    ("birth_date", "birth date"),
    ("twitter_handle", "Twitter"),
    ("location", "location"),
    ("employment", "employment"),
)
IDENTITY_KEYS = (("email", "email"), ("name", "name"), ("nickname", "nickname"))
POLICY_EXPORTS = {
    "opt-out": ("granted", "unknown"),
    "opt-in": ("granted",),
}


def _day(value: Any) -> str:
    return str(value)[:10] if value else "—"


def _moment(value: Any) -> str:
    return str(value)[:19].replace("T", " ") if value else "—"


def _age(birth: str, precision: str | None, today: date) -> str:
    try:
        born = date.fromisoformat(birth[:10])
    except ValueError:
        return birth
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if precision == "day":
        return f"{birth} (age {years})"
    return f"born about {born.year} (age about {years}; estimated from a {precision or 'guess'})"


def _fact_value(name: str, profile: dict[str, Any], today: date) -> str | None:
    value = profile.get(name)
    if value in (None, "", {}):
        return None
    if name == "birth_date":
        return _age(str(value), profile.get("birth_date_precision"), today)
    if name == "twitter_handle":
        return f"@{value}"
    if name == "location":
        place = ", ".join(str(value[k]) for k in ("city", "region", "country_code") if value.get(k))
        point = value.get("point")
        return place + (f" ({point['lat']}, {point['lon']})" if point else "")
    if name == "employment":
        return " — ".join(str(value[k]) for k in ("title", "organization") if value.get(k))
    return str(value)


def _provenance(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "source not recorded"
    return f"{entry.get('source')} · {entry.get('field')} · observed {entry.get('observed_on')}"


def _stamp(stamp: Any) -> str:
    """``"<time>|<event id>"`` (the event that last set an Auth0 key) as readable text."""
    if not isinstance(stamp, str) or "|" not in stamp:
        return "auth0"
    at, _, event_id = stamp.partition("|")
    return f"auth0 · event {event_id} · {_moment(at)}"


def segment_entries(value: Any) -> list[tuple[str, str | None]]:
    """Segments a profile is in, with the day it entered when known. Accepts a list of names or
    of objects (``{name, entered_at}``), or a mapping name → date or object."""
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        for entry in value:
            if isinstance(entry, dict):
                items.append((entry.get("name") or entry.get("segment"), entry))
            else:
                items.append((entry, None))
    entries = []
    for name, detail in items:
        if not name:
            continue
        since = detail
        if isinstance(detail, dict):
            since = next(
                (detail[k] for k in ("entered_at", "since", "at", "entered") if detail.get(k)),
                None,
            )
        entries.append((str(name), _moment(since) if since else None))
    return sorted(entries)


def _rows(rows: list[tuple[str, str, str]]) -> list[str]:
    width = max((len(label) for label, _, _ in rows), default=0)
    value_width = min(max((len(value) for _, value, _ in rows), default=0), 40)
    return [
        f"  {label:<{width}}  {value:<{value_width}}  {source}".rstrip()
        for label, value, source in rows
    ]


def _event_line(event: dict[str, Any]) -> str:
    source = event.get("source") or {}
    geo = source.get("geo") or {}
    auth0 = event.get("auth0") or {}
    where = " ".join(str(geo[k]) for k in ("city_name", "country_iso_code") if geo.get(k))
    parts = [
        _moment(event.get("@timestamp")),
        f"{(event.get('event') or {}).get('action', '?'):<22}",
        str(auth0.get("connection") or ""),
        str(source.get("ip") or ""),
        where,
    ]
    return "  " + "  ".join(p for p in parts if p)


def _identity(profile: dict[str, Any]) -> list[str]:
    stamps = profile.get("auth0_stamps") or {}
    rows = [
        (label, str(profile[key]), _stamp(stamps.get(key)))
        for key, label in IDENTITY_KEYS
        if profile.get(key)
    ]
    if profile.get("email_verified") is not None:
        rows.append(("email verified", str(profile["email_verified"]).lower(), ""))
    for key, label in (("providers", "identity providers"), ("connections", "connections")):
        if profile.get(key):
            rows.append((label, ", ".join(profile[key]), "auth0 identities / login context"))
    return ["Identity (from Auth0, each key from the latest event that set it)", *_rows(rows)]


def _facts(profile: dict[str, Any], today: date) -> list[str]:
    provenance = profile.get("provenance") or {}
    rows = [
        (label, value, _provenance(provenance.get(name)))
        for name, label in FACT_LABELS
        if (value := _fact_value(name, profile, today)) is not None
    ]
    return ["Facts (source · field · day observed)", *(_rows(rows) if rows else ["  none yet"])]


def _interests(profile: dict[str, Any]) -> list[str]:
    sources = profile.get("interest_sources") or {}
    rows = [
        (interest, ", ".join(INTEREST_SOURCES.get(s, s) for s in sources.get(interest, [])), "")
        for interest in profile.get("interests") or []
    ]
    return ["Interests (and who told us)", *(_rows(rows) if rows else ["  none yet"])]


def _consent(profile: dict[str, Any], policy: str) -> list[str]:
    consent = profile.get("consent") or {}
    state = consent.get("state") or profile.get("marketing_consent") or "unknown"
    exported = state in POLICY_EXPORTS.get(policy, ())
    stated = (
        f"stated by {consent['source']} on {_moment(consent.get('at'))}"
        if consent.get("source")
        else "never stated"
    )
    verdict = "included" if exported else "left out"
    return ["Marketing consent", f"  {state}: {stated}; exports ({policy} policy): {verdict}"]


def _activity(profile: dict[str, Any]) -> list[str]:
    counters = profile.get("counters") or {}
    counted = ", ".join(f"{k} {v}" for k, v in sorted(counters.items()))
    return [
        "Activity",
        f"  first seen {_moment(profile.get('first_seen'))} · signed up "
        f"{_moment(profile.get('signed_up_at'))} · last login {_moment(profile.get('last_login'))}"
        f" · last seen {_moment(profile.get('last_seen'))}",
        f"  returned after signing up: {'yes' if profile.get('returned') else 'no'}"
        f" · Auth0 logins_count {profile.get('logins_count', '—')}"
        + (f" · counted by authstream: {counted}" if counted else ""),
    ]


def _findings(profile: dict[str, Any]) -> list[str]:
    rows = [
        (provider, str(block.get("status")), f"updated {_moment(block.get('updated_at'))}")
        for provider, block in sorted((profile.get("enrichment") or {}).items())
        if isinstance(block, dict)
    ]
    sentiment = profile.get("sentiment")
    if isinstance(sentiment, dict):
        score = sentiment.get("score")
        summary = str(sentiment.get("label", "?"))
        if isinstance(score, int | float):
            summary += f" (score {score:+.2f}, {sentiment.get('mentions', '?')} mention(s))"
        rows.append(("sentiment", summary, f"updated {_moment(sentiment.get('updated_at'))}"))
    return ["Enrichment and sentiment", *_rows(rows)] if rows else []


def _segments(profile: dict[str, Any]) -> list[str]:
    if "segments" not in profile:
        return ["Segments", "  not recorded on this profile (the segments stage records entries)"]
    entries = segment_entries(profile.get("segments"))
    listed = [f"  {name}" + (f"  since {since}" if since else "") for name, since in entries]
    return ["Segments", *(listed or ["  none"])]


def explain(
    profile: dict[str, Any],
    events: list[dict[str, Any]],
    events_total: int,
    policy: str,
    today: date,
) -> str:
    """The whole profile, section by section, then its latest events (newest first)."""
    title = f"{profile.get('user_id')}  {profile.get('name') or ''}".rstrip()
    if profile.get("tenant"):
        title += f"  (tenant {profile['tenant']})"
    lines = [
        title,
        *_identity(profile),
        *_facts(profile, today),
        *_interests(profile),
        *_consent(profile, policy),
        *_activity(profile),
        *_findings(profile),
        *_segments(profile),
        f"Latest events ({len(events)} of {events_total:,})",
        *([_event_line(event) for event in events] if events else ["  none stored"]),
    ]
    return "\n".join(lines)
