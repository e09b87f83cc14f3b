"""Marketing consent as an explicit state that sticks: ``granted``, ``refused`` or ``unknown``.

Auth0 tenants record it in ``app_metadata.marketing_consent`` or ``user_metadata.marketing_opt_in``
(or ``marketing_consent``), spelled in every way people spell yes and no. Only explicit statements
count: a sparse event that does not mention consent changes nothing. The latest statement wins,
so a refusal holds until an explicit later grant; when two statements carry the same time, the
refusal wins (between two alike, the source's name decides: never the order of arrival). The
state keeps its source and date, for the marketer who has to justify an export.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

ConsentState = Literal["granted", "refused", "unknown"]

# Where an Auth0 user profile states consent, most specific first.
CONSENT_FIELDS = (
    "app_metadata.marketing_consent",
    "user_metadata.marketing_opt_in",
    "user_metadata.marketing_consent",
)
GRANTED_WORDS = frozenset(
    {
        "true",
        "yes",
        "y",
        "1",
        "on",
        "granted",
        "given",
        "accepted",
        "agreed",
        "opt-in",
        "opt_in",
        "optin",
        "opted-in",
        "opted_in",
        "subscribed",
    }
)
REFUSED_WORDS = frozenset(
    {
        "false",
        "no",
        "n",
        "0",
        "off",
        "refused",
        "denied",
        "declined",
        "rejected",
        "withdrawn",
        "revoked",
        "opt-out",
        "opt_out",
        "optout",
        "opted-out",
        "opted_out",
        "unsubscribed",
    }
)


def read_consent(value: Any) -> Literal["granted", "refused"] | None:
    """``True``, ``"yes"``, ``1``, ``"granted"``… → granted; ``False``, ``"false"``, ``0``,
    ``"refused"``… → refused; anything else (``None``, ``""``, ``"maybe"``) says nothing."""
    if isinstance(value, bool):
        return "granted" if value else "refused"
    if isinstance(value, int | float):
        return "granted" if value == 1 else "refused" if value == 0 else None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in GRANTED_WORDS:
            return "granted"
        if word in REFUSED_WORDS:
            return "refused"
    return None


# Each field as its parent object and key: read once per event the index stage folds.
_CONSENT_PATHS = tuple((field, *field.split(".", 1)) for field in CONSENT_FIELDS)


def stated_consent(user: dict[str, Any]) -> tuple[Literal["granted", "refused"], str] | None:
    """What a user profile says explicitly, and in which field; a refusal anywhere wins."""
    statements = [
        (state, field)
        for field, parent, key in _CONSENT_PATHS
        if isinstance(found := user.get(parent), dict)
        and (state := read_consent(found.get(key))) is not None
    ]
    refusal = next((s for s in statements if s[0] == "refused"), None)
    return refusal or (statements[0] if statements else None)


@dataclass(frozen=True)
class Consent:
    state: ConsentState
    source: str | None = None  # e.g. "auth0-action: app_metadata.marketing_consent"
    at: datetime | None = None

    def document(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "source": self.source,
            "at": self.at.isoformat() if self.at else None,
        }


UNKNOWN = Consent("unknown")


def _rank(state: ConsentState, source: str | None, at: datetime | None) -> tuple[Any, ...]:
    # Later wins; at the same instant a refusal wins; then the source's name, so that two
    # statements of one instant give the same answer whichever arrives first.
    return (at is not None, at, state == "refused", source or "")


def merge_consent(
    current: Consent, state: Literal["granted", "refused"], source: str, at: datetime
) -> Consent:
    """Apply one explicit statement: later wins; at the same instant, a refusal wins."""
    if _rank(state, source, at) <= _rank(current.state, current.source, current.at):
        return current
    return Consent(state, source, at)
