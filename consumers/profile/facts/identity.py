"""Gender, Twitter handle and location from a profile and its enrichment, with their sources."""

import re
from dataclasses import dataclass
from typing import Any

from consumers.profile.facts.sources import Blob, Candidate, Fact, Origin, as_dict, read_first

_GENDERS = {
    "male": "male",
    "m": "male",
    "man": "male",
    "female": "female",
    "f": "female",
    "woman": "female",
}
_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")
# twitter.com or x.com as the whole host name (or its last labels): fox.com/news names no handle.
_TWITTER_URL = re.compile(
    r"(?:^|[/.@])(?:twitter|x)\.com/(?:#!/)?@?([A-Za-z0-9_]{1,15})", re.IGNORECASE
)


def normalise_gender(value: Any, origin: Origin | None = None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower()
    return _GENDERS.get(text, text)


def _identities(user: Blob) -> list[Blob]:
    identities = user.data.get("identities")
    return [
        Blob(identity, user.origin, f"{user.path}.identities[{n}]".strip("."))
        for n, identity in enumerate(identities if isinstance(identities, list) else [])
        if isinstance(identity, dict)
    ]


def gender_from(user: Blob, fullcontact: list[Blob]) -> Fact[str] | None:
    candidates: list[Candidate] = [(user, "gender"), (user, "user_metadata.gender")]
    for blob in fullcontact:
        candidates += [(blob, "gender"), (blob, "demographics.gender"), (blob, "details.gender")]
    candidates += [(identity, "profileData.gender") for identity in _identities(user)]
    return read_first(candidates, normalise_gender)


def normalise_handle(value: Any, origin: Origin | None = None) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    match = _TWITTER_URL.search(value) or _HANDLE.match(value)
    return match.group(1).lower() if match else None


def twitter_handle_from(user: Blob, fullcontact: list[Blob]) -> Fact[str] | None:
    candidates: list[Candidate] = []
    for identity in _identities(user):
        if identity.data.get("provider") == "twitter":
            candidates.append((identity, "profileData.screen_name"))
            if str(user.data.get("user_id", "")).startswith("twitter|"):
                candidates.append((user, "screen_name"))
    for blob in fullcontact:
        profiles = blob.data.get("socialProfiles")  # FullContact v2
        for n, profile in enumerate(profiles if isinstance(profiles, list) else []):
            if isinstance(profile, dict) and profile.get("type") == "twitter":
                sub = Blob(profile, blob.origin, f"{blob.path}.socialProfiles[{n}]".strip("."))
                candidates += [(sub, "username"), (sub, "url")]
        candidates += [(blob, "details.profiles.twitter.username"), (blob, "twitter")]
    return read_first(candidates, normalise_handle)


@dataclass(frozen=True)
class Location:
    country_code: str | None = None
    city: str | None = None
    region: str | None = None
    lat: float | None = None
    lon: float | None = None


def _text(value: Any) -> str | None:
    # The profile maps these as keywords: an object or a number there would make Elasticsearch
    # refuse the whole profile (and park the event that carried it).
    return value.strip() if isinstance(value, str) and value.strip() else None


def _degrees(value: Any, limit: float) -> float | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        degrees = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return degrees if -limit <= degrees <= limit else None


def _from_geo(geo: Any, origin: Origin) -> Location | None:
    geo = as_dict(geo)
    country, city = _text(geo.get("country_code")), _text(geo.get("city"))
    if not (country or city):
        return None
    return Location(
        country_code=country.upper() if country else None,
        city=city,
        region=_text(geo.get("subdivision_code")) or _text(geo.get("region")),
        lat=_degrees(geo.get("lat"), 90),
        lon=_degrees(geo.get("lon"), 180),
    )


def _from_place(place: Any, origin: Origin) -> Location | None:
    if isinstance(place, dict):  # Facebook: {"id": ..., "name": "Portland, Oregon"}
        place = place.get("name")
    city = _text(place.split(",")[0]) if isinstance(place, str) else None
    return Location(city=city) if city else None


def _from_fullcontact_locations(locations: Any, origin: Origin) -> Location | None:
    first = next(iter(locations), None) if isinstance(locations, list) else None
    if not isinstance(first, dict):
        return None
    where = Location(
        country_code=_text(first.get("countryCode")),
        city=_text(first.get("city")),
        region=_text(first.get("regionCode")) or _text(first.get("region")),
    )
    return where if where != Location() else None


def location_from(user: Blob, fullcontact: list[Blob], geo: Blob | None) -> Fact[Location] | None:
    """Where the user logged in from beats what a profile says; FullContact comes last."""
    found = read_first([(geo, "")], _from_geo) if geo is not None else None
    found = found or read_first([(user, "location")], _from_place)
    for blob in fullcontact:
        found = found or read_first([(blob, "details.locations")], _from_fullcontact_locations)
        found = found or read_first([(blob, "location")], _from_place)
    return found
