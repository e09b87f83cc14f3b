"""Profile documents by the million, for the finding benchmarks, loaded straight into the index.

Folding a million synthetic customers event by event would take the benchmark's whole budget, so a
few thousand are folded for real (the demo's generator through the real fold: real interests,
provenance, consent, Auth0 snapshots, document sizes) and every document is one of those templates
with a new identity: id, name, email, search words and consent. Names come from a wider pool than
the demo's (generated surnames), so a search for a surname finds a realistic few hundred people
rather than a twentieth of the index. Everything is derived from the document number: the same
``n`` is the same document in every run.
"""

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from consumers.demo.synthetic import FIRST, LAST, synthetic_tenant
from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.profile.searchable import fold_words, search_text_of
from schemas import Event

# fmt: off
SYLLABLES = [
    "ba", "ber", "bro", "ca", "chen", "da", "del", "dor", "fa", "fer", "gar", "ha", "hol", "ka",
    "kin", "la", "lin", "ma", "mar", "mo", "na", "nov", "pa", "per", "ro", "sa", "sen", "ta",
    "ter", "va", "vel", "wa", "win", "za",
]
# fmt: on
_MORE_FIRST = (
    "Aiden Alba Anouk Arjun Aurora Ayla Bruno Camille Carmen Dara Elif Emil Farah Felix Ines "
    "Ivan Jonas Kai Lena Leon Luca Maya Mei Nadia Nils Omar Pia Rafael Rosa Sami Sven Tariq "
    "Valentina Wei Yara Zara Élodie Joël Renée Søren"
)
MORE_FIRST = _MORE_FIRST.split()


def surname(k: int) -> str:
    """The k-th generated surname (about 36,000 of them), or one of the demo's."""
    if k % 4 == 0:
        return LAST[k // 4 % len(LAST)]
    a, b, c = k % 37 % len(SYLLABLES), k // 37 % len(SYLLABLES), k // 1369 % len(SYLLABLES)
    return (SYLLABLES[a] + SYLLABLES[b] + SYLLABLES[c]).capitalize()


def templates(count: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """``count`` profiles folded from the demo's synthetic events by the real fold."""
    now = now or datetime.now(UTC)
    by_user: dict[str, list[Event]] = {}
    for raw in synthetic_tenant(count, now=now):
        by_user.setdefault(raw["user"]["user_id"], []).append(Event.model_validate(raw))
    taxonomy = Taxonomy.load()
    return [fold(None, events, taxonomy, now)[0].document() for events in by_user.values()]


def consent_of(n: int) -> str:
    """5% refused, 20% never stated, 75% granted."""
    remainder = n % 20
    return "refused" if remainder == 19 else "unknown" if remainder >= 15 else "granted"


def user_id(n: int) -> str:
    return f"bench-{n:08d}"


def documents(start: int, stop: int, models: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Documents ``start`` .. ``stop - 1``."""
    first_names = [*FIRST, *MORE_FIRST]
    for n in range(start, stop):
        rng = random.Random(n)
        template = models[n % len(models)]
        first = rng.choice(first_names)
        last = surname(rng.randrange(36_000))
        name = f"{first} {last}"
        email = f"{'.'.join(fold_words(first + ' ' + last))}{n}@example.com"
        state = consent_of(n)
        doc = dict(template)
        doc.update(
            user_id=user_id(n),
            name=name,
            nickname=first.lower(),
            email=email,
            marketing_consent=state,
            consent={**(template.get("consent") or {}), "state": state},
            auth0={
                **template.get("auth0", {}),
                "user_id": user_id(n),
                "email": email,
                "name": name,
            },
            search=search_text_of(
                name,
                first.lower(),
                email,
                template.get("twitter_handle"),
                template.get("location"),
                template.get("interests", []),
            ),
        )
        yield doc


def exported_below(limit: int) -> int:
    """How many of documents 0 .. limit-1 the opt-out policy exports (all but the refusals)."""
    return limit - limit // 20


def range_exporting(members: int) -> int:
    """The smallest ``limit`` such that documents below it hold ``members`` exportable ones."""
    limit = members
    while exported_below(limit) < members:
        limit += 1
    return limit
