"""Profile facts derived from what Auth0, FullContact and behaviour tell us. Pure functions only.

``facts_from(user, fullcontact, geo)`` is the one entry point the profile fold uses.
"""

from dataclasses import dataclass, field
from typing import Any

from consumers.profile.facts.birth import BirthDate, birth_date_from
from consumers.profile.facts.identity import (
    Location,
    consent_from,
    gender_from,
    location_from,
    twitter_handle_from,
)
from consumers.profile.facts.interests import Taxonomy, interests_from
from consumers.profile.facts.sources import fullcontact_blobs

__all__ = ["BirthDate", "Location", "Taxonomy", "UserFacts", "facts_from"]


@dataclass(frozen=True)
class UserFacts:
    birth: BirthDate | None
    gender: str | None
    twitter_handle: str | None
    location: Location | None
    marketing_consent: str  # granted | refused | unknown
    interests: dict[str, set[str]] = field(default_factory=dict)  # interest -> sources


def facts_from(
    user: dict[str, Any],
    enrichment: dict[str, Any] | None,
    geo: dict[str, Any] | None,
    taxonomy: Taxonomy,
) -> UserFacts:
    """Everything we can tell about a user from their Auth0 profile and enrichment results."""
    blobs = fullcontact_blobs(user, enrichment)
    return UserFacts(
        birth=birth_date_from(user, blobs),
        gender=gender_from(user, blobs),
        twitter_handle=twitter_handle_from(user, blobs),
        location=location_from(user, blobs, geo),
        marketing_consent=consent_from(user),
        interests=interests_from(user, blobs, taxonomy),
    )
