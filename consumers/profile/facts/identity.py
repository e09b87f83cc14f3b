"""Gender, Twitter handle, location and marketing consent from a profile and its enrichment."""

import re
from dataclasses import dataclass
from typing import Any, Literal

from consumers.profile.facts.sources import as_dict, dig

Consent = Literal["granted", "refused", "unknown"]

_GENDERS = {
    "male": "male",
    "m": "male",
    "man": "male",
    "female": "female",
    "f": "female",
    "woman": "female",
}
_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")
_TWITTER_URL = re.compile(r"(?:twitter|x)\.com/(?:#!/)?@?([A-Za-z0-9_]{1,15})", re.IGNORECASE)


def normalise_gender(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower()
    return _GENDERS.get(text, text)


def gender_from(user: dict[str, Any], fullcontact: list[dict[str, Any]]) -> str | None:
    candidates = [user.get("gender"), dig(user, "user_metadata", "gender")]
    for blob in fullcontact:
        candidates += [
            blob.get("gender"),
            dig(blob, "demographics", "gender"),
            dig(blob, "details", "gender"),
        ]
    candidates += [dig(i, "profileData", "gender") for i in user.get("identities") or []]
    return next((g for g in map(normalise_gender, candidates) if g), None)


def normalise_handle(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    match = _TWITTER_URL.search(value) or _HANDLE.match(value)
    return match.group(1).lower() if match else None


def twitter_handle_from(user: dict[str, Any], fullcontact: list[dict[str, Any]]) -> str | None:
    candidates: list[Any] = []
    for identity in user.get("identities") or []:
        if dig(identity, "provider") == "twitter":
            candidates += [dig(identity, "profileData", "screen_name")]
            if str(user.get("user_id", "")).startswith("twitter|"):
                candidates.append(user.get("screen_name"))
    for blob in fullcontact:
        for profile in blob.get("socialProfiles") or []:  # FullContact v2
            if dig(profile, "type") == "twitter":
                candidates += [dig(profile, "username"), dig(profile, "url")]
        candidates += [dig(blob, "details", "profiles", "twitter", "username"), blob.get("twitter")]
    return next((h for h in map(normalise_handle, candidates) if h), None)


@dataclass(frozen=True)
class Location:
    country_code: str | None = None
    city: str | None = None
    region: str | None = None
    lat: float | None = None
    lon: float | None = None


def location_from(
    user: dict[str, Any], fullcontact: list[dict[str, Any]], geo: dict[str, Any] | None
) -> Location | None:
    geo = as_dict(geo)
    if geo.get("country_code") or geo.get("city"):
        lat, lon = geo.get("lat"), geo.get("lon")
        return Location(
            country_code=str(geo["country_code"]).upper() if geo.get("country_code") else None,
            city=geo.get("city"),
            region=geo.get("subdivision_code") or geo.get("region"),
            lat=float(lat) if isinstance(lat, int | float) else None,
            lon=float(lon) if isinstance(lon, int | float) else None,
        )
    place = user.get("location")
    if isinstance(place, dict):  # Facebook: {"id": ..., "name": "Portland, Oregon"}
        place = place.get("name")
    if isinstance(place, str) and place.strip():
        return Location(city=place.split(",")[0].strip())
    for blob in fullcontact:
        first = next(iter(dig(blob, "details", "locations") or []), None)
        if isinstance(first, dict):
            return Location(
                country_code=first.get("countryCode"),
                city=first.get("city"),
                region=first.get("regionCode") or first.get("region"),
            )
        if isinstance(blob.get("location"), str):
            return Location(city=blob["location"].split(",")[0].strip())
    return None


def consent_from(user: dict[str, Any]) -> Consent:
    """False anywhere means refused; True means granted; absent means never asked."""
    answers = [
        dig(user, "app_metadata", "marketing_consent"),
        dig(user, "user_metadata", "marketing_opt_in"),
    ]
    if any(a is False for a in answers):
        return "refused"
    if any(a is True for a in answers):
        return "granted"
    return "unknown"
