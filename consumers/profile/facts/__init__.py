"""Profile facts derived from what Auth0, enrichment providers and behaviour tell us. Pure.

``facts_from`` is the one entry point the profile fold uses. Every fact comes with its
provenance (source, field, day observed), which the profile keeps and ``users show`` explains.
"""

from dataclasses import dataclass, field
from typing import Any

from consumers.profile.facts.birth import BirthDate, birth_date_from
from consumers.profile.facts.identity import (
    Location,
    gender_from,
    location_from,
    twitter_handle_from,
)
from consumers.profile.facts.interests import Taxonomy, interests_from
from consumers.profile.facts.sources import Blob, Fact, Origin, dig, fullcontact_blobs, read_first

__all__ = [
    "BirthDate",
    "Blob",
    "Employment",
    "Fact",
    "Location",
    "Origin",
    "Taxonomy",
    "UserFacts",
    "facts_from",
]


@dataclass(frozen=True)
class Employment:
    organization: str | None
    title: str | None


def _employment(raw: Any, origin: Origin) -> Employment | None:
    jobs = raw if isinstance(raw, list) else []
    current = next((j for j in jobs if isinstance(j, dict) and j.get("current")), None)
    job = current or next((j for j in jobs if isinstance(j, dict)), None)
    if job is None:
        return None
    return _employment_of(job.get("name"), job.get("title"))


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _employment_of(organization: Any, title: Any) -> Employment | None:
    """Blank text is no organization or title (found by fuzzing: "" became an employer)."""
    employment = Employment(_text(organization), _text(title))
    return employment if employment.organization or employment.title else None


def _top_level_employment(blob: Blob) -> Fact[Employment] | None:
    value = _employment_of(dig(blob.data, "organization"), dig(blob.data, "title"))
    if value is None:
        return None
    return Fact(value, blob.origin, ".".join(p for p in (blob.path, "organization") if p))


def employment_from(fullcontact: list[Blob]) -> Fact[Employment] | None:
    for blob in fullcontact:
        found = read_first([(blob, "details.employment")], _employment)
        found = found or _top_level_employment(blob)
        if found:
            return found
    return None


@dataclass(frozen=True)
class UserFacts:
    birth: Fact[BirthDate] | None
    gender: Fact[str] | None
    twitter_handle: Fact[str] | None
    location: Fact[Location] | None
    employment: Fact[Employment] | None
    interests: dict[str, set[str]] = field(default_factory=dict)  # interest -> sources


def facts_from(
    user: Blob, enrichment: list[Blob], geo: Blob | None, taxonomy: Taxonomy
) -> UserFacts:
    """Everything we can tell about a user from their Auth0 profile and enrichment results.

    ``user`` is the Auth0 profile snapshot, dated the day it was taken; ``enrichment`` the
    providers' answers, each dated the day it was fetched; ``geo`` where the user last logged in.
    """
    blobs = fullcontact_blobs(user, enrichment)
    return UserFacts(
        birth=birth_date_from(user, blobs),
        gender=gender_from(user, blobs),
        twitter_handle=twitter_handle_from(user, blobs),
        location=location_from(user, blobs, geo),
        employment=employment_from(blobs),
        interests=interests_from(user.data, blobs, taxonomy),
    )
