"""Where profile facts come from, and who said them when.

A fact is only as good as its source and its date: ``users show`` explains each one, and an age
must be anchored to the day it was observed (an age of 30 read in 2026 is a birth year of 1996,
also when the profile is folded again in 2031). Every payload facts are read from is a ``Blob``
with its ``Origin``.

The article stores FullContact data as ``user_metadata.fullcontact`` in one place and reads
``fullContactInfo`` (user or app metadata) in another: accept all of them, plus our own enrichment.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dig(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class Origin:
    """Who told us (``auth0``, ``fullcontact``, ...) and on which day."""

    source: str
    observed_on: date


@dataclass(frozen=True)
class Blob:
    """A payload facts are read from; ``path`` says where it sits (for explanations)."""

    data: dict[str, Any]
    origin: Origin
    path: str = ""


@dataclass(frozen=True)
class Fact(Generic[T]):
    value: T
    origin: Origin
    path: str  # the field it was read from, e.g. ``details.age.range`` or ``user.gender``

    def provenance(self) -> dict[str, str]:
        return {
            "source": self.origin.source,
            "field": self.path,
            "observed_on": self.origin.observed_on.isoformat(),
        }


Candidate = tuple[Blob, str]  # a payload and the dotted path of a field in it


def read_first(
    candidates: Iterable[Candidate], read: Callable[[Any, Origin], T | None]
) -> Fact[T] | None:
    """The first candidate field that ``read`` understands, as a fact with its provenance.
    ``read`` gets the raw value and its origin (ages are anchored to the origin's date)."""
    for blob, key in candidates:
        raw = dig(blob.data, *key.split(".")) if key else blob.data
        value = read(raw, blob.origin)
        if value is not None:
            return Fact(value, blob.origin, ".".join(p for p in (blob.path, key) if p))
    return None


def fullcontact_blobs(user: Blob, enrichment: list[Blob]) -> list[Blob]:
    """FullContact payloads known for this user, most authoritative first: our own enrichment,
    then copies that Auth0 rules wrote into the user's metadata (dated like the user profile)."""
    blobs = list(enrichment)
    for metadata in ("user_metadata", "app_metadata"):
        for key in ("fullcontact", "fullContactInfo"):
            found = dig(user.data, metadata, key)
            if isinstance(found, dict):
                blobs.append(Blob(found, user.origin, f"{user.path}.{metadata}.{key}".strip(".")))
    return blobs
