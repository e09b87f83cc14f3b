"""Enrichment providers. Another provider is one module and one registration line in ENRICHERS.

An ``Enricher`` answers for one email: ``enriched`` with the provider's raw answer, or
``not_found``; it raises ``ThirdParty*`` errors (``consumers.thirdparty.http``) for everything
that is not an answer. The enrich stage owns everything else: caching by email hash, freshness,
budgets, rate limits, the circuit breaker, and publishing ``profile.enriched``.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from consumers.core.settings import Settings


def email_hash(email: str) -> str:
    """The key answers are cached under: the same for every spelling of the same address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Answer:
    status: Literal["enriched", "not_found", "error"]
    response: dict[str, Any] | None = None
    reason: str = ""


class Enricher(Protocol):
    provider: str
    daily_budget: int
    requests_per_second: float

    async def enrich(self, email: str) -> Answer: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Registration:
    """How to tell whether a provider is configured, and how to build its client."""

    missing: Callable[[Settings], str | None]  # why it cannot run, or None
    build: Callable[[Settings], Enricher]


def _fullcontact() -> Registration:
    from consumers.enrich import fullcontact  # here: it imports this module

    return fullcontact.REGISTRATION


# One registration line per provider.
ENRICHERS: dict[str, Callable[[], Registration]] = {
    "fullcontact": _fullcontact,
}


def configured_enrichers(settings: Settings) -> dict[str, Registration]:
    return {
        name: registration
        for name, load in ENRICHERS.items()
        if (registration := load()).missing(settings) is None
    }


def missing_configuration(settings: Settings) -> str | None:
    """Why the enrich stage cannot run (no provider configured), or None."""
    reasons = [load().missing(settings) for load in ENRICHERS.values()]
    if any(reason is None for reason in reasons):
        return None
    return "; ".join(r for r in reasons if r)
