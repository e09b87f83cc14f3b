"""The catalogue of Auth0 log type codes (``consumers/data/auth0_log_types.json``).

Each code Auth0 writes in ``data.type`` has a family (login, failed_login, management, ...), an
``end_user`` flag (is the record about an end user's own account or activity?) and the envelope
type authstream gives it. The catalogue is data, not code: when Auth0 adds codes, the file grows.
A code it does not know is family ``other``, not an end-user record, and becomes ``auth0.<code>``,
so nothing is dropped and nothing unknown builds a customer profile.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

UNKNOWN_FAMILY = "other"


@dataclass(frozen=True)
class LogType:
    code: str
    family: str
    end_user: bool
    event_type: str  # the envelope type: auth.login, user.updated, auth0.<code>, ...
    description: str = ""
    known: bool = True  # False: a code the catalogue does not list


def fallback_type(code: str) -> str:
    """``auth0.<code>``, with anything the envelope's type pattern refuses replaced by ``_``."""
    return "auth0." + (re.sub(r"[^a-z0-9_]", "_", code.lower()) or "unknown")


@dataclass(frozen=True)
class Catalogue:
    types: dict[str, LogType]
    families: dict[str, str]  # family -> what it means

    def lookup(self, code: str) -> LogType:
        found = self.types.get(code)
        if found is not None:
            return found
        return LogType(code, UNKNOWN_FAMILY, False, fallback_type(code), known=False)

    def codes_of(self, family: str) -> list[str]:
        return sorted(c for c, t in self.types.items() if t.family == family)


@cache
def catalogue() -> Catalogue:
    raw = json.loads(
        resources.files("consumers.data").joinpath("auth0_log_types.json").read_text("utf-8")
    )
    types = {
        code: LogType(
            code=code,
            family=entry["family"],
            end_user=bool(entry["end_user"]),
            event_type=entry.get("authstream_type") or fallback_type(code),
            description=entry.get("event") or entry.get("description") or "",
        )
        for code, entry in raw["types"].items()
    }
    return Catalogue(types, dict(raw["families"]))
