"""What the interests' similarity fallback costs the index stage: ``python -m
consumers.bench.interest_cost [EVENTS]``.

The index stage derives facts (interests among them) for every event it folds; the fallback adds
an encoder pass for each distinct text the keywords do not settle, then remembers the answer. So
the figures that matter are: the one-off loads (the examples' index, the 90 MB encoder), the cost
of one unseen text, and the fold's CPU per event with and without the fallback, in the same run,
for the demo tenant (a few dozen distinct likes: every text repeats, the cache answers) and for a
long tail where every event brings a like nobody had before (the worst case).
"""

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from typing import Any

from consumers.demo.synthetic import synthetic_tenant
from consumers.profile.facts.interests import Taxonomy
from consumers.profile.facts.similarity import Similarity
from consumers.profile.fold import fold
from consumers.profile.model import Profile
from schemas.envelope import Event

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _cpu_ms(action: Callable[[], Any]) -> float:
    started = time.process_time()
    action()
    return (time.process_time() - started) * 1000


def _fold_all(events: list[Event], taxonomy: Taxonomy) -> None:
    profiles: dict[str, Profile] = {}
    for event in events:
        user_id = event.user.user_id
        profiles[user_id], _ = fold(profiles.get(user_id), [event], taxonomy, NOW)


def _long_tail(envelopes: list[dict[str, Any]]) -> list[Event]:
    """The same events, each carrying one Facebook like no other event has."""
    unique = []
    for n, envelope in enumerate(envelopes):
        user = dict(envelope["user"])
        user["likes"] = [{"name": f"Harbour Striders {n}", "category": "Community"}]
        unique.append(Event.model_validate(envelope | {"user": user}))
    return unique


def _terms() -> dict[str, Any]:
    raw = json.loads(resources.files("consumers.data").joinpath("interests.json").read_text())
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def _with_similarity() -> Taxonomy:
    """A taxonomy with an empty cache and the built-in fallback (loaded on first need)."""
    return Taxonomy(_terms(), Similarity.load)


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 2000
    envelopes = synthetic_tenant(max(1, count // 4), seed=11)[:count]
    events = [Event.model_validate(e) for e in envelopes]
    print(f"{len(events)} demo events; CPU time (process_time) of the fold, per event")

    load_ms = _cpu_ms(lambda: _with_similarity().similarity)
    similar = _with_similarity()
    assert similar.similarity is not None, "no similarity index: run `authstream interests fit`"
    model_ms = _cpu_ms(lambda: similar.match("warming the encoder up"))
    one = [_cpu_ms(partial(similar.match, f"unseen text number {n}")) for n in range(20)]
    print(f"  index load (examples, vectors, sense labels): {load_ms:8.1f} ms once")
    print(f"  encoder load and first text:                  {model_ms:8.1f} ms once")
    print(f"  one unseen text (median of 20):               {sorted(one)[10]:8.2f} ms")

    for label, batch in (("demo tenant", events), ("long tail", _long_tail(envelopes))):
        fresh_keywords = Taxonomy(_terms())
        base = _cpu_ms(partial(_fold_all, batch, fresh_keywords)) / len(batch)
        fresh_similar = _with_similarity()
        fresh_similar.match("warming the encoder up")
        with_fallback = _cpu_ms(partial(_fold_all, batch, fresh_similar)) / len(batch)
        warm = _cpu_ms(partial(_fold_all, batch, fresh_similar)) / len(batch)
        print(
            f"  {label:<12} keywords only {base:6.3f} ms/event   with fallback, first pass "
            f"{with_fallback:6.3f} ms/event, again (cached) {warm:6.3f} ms/event"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
