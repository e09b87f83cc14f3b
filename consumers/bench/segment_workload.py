"""The segments benchmark's workload: 50 segments in the shapes marketers write, changed profiles
from the demo tenant, and the users and changes of the latency run."""

import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml

from consumers.demo.synthetic import synthetic_tenant
from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.profile.model import Profile
from consumers.segments.definitions import Segment, load_segments
from schemas import Event

INTERESTS = ["fitness", "running", "outdoors", "cycling", "fashion", "music", "travel"]
AGE_BANDS = [(18, 24), (25, 34), (35, 44), (45, 64), (20, 40), (30, 50)]
# What each change adds to a man of 30, by how many of the 50 segments it makes him enter:
# "Yoga" (fitness) the pre-order campaign alone, "Marathon training" (fitness, running) three.
CHANGES = {1: {"name": "Yoga", "category": "Sports"}, 3: {"name": "Marathon training"}}


def generated_wheres(count: int, seed: int = 5) -> list[dict[str, Any]]:
    """``count`` conditions in the shapes marketers write: demographics, interests, consent,
    activity windows, behaviour counts, sentiment, nesting."""
    rng = random.Random(seed)
    wheres = []
    for _ in range(count):
        low, high = rng.choice(AGE_BANDS)
        parts: list[dict[str, Any]] = [{"age": {"min": low, "max": high}}]
        if rng.random() < 0.7:
            parts.append({"gender": rng.choice(["male", "female"])})
        if rng.random() < 0.5:
            parts.append({"interests": rng.sample(INTERESTS, rng.randint(1, 2))})
        else:
            parts.append({"interests": rng.choice(INTERESTS)})
        extra = rng.choice(["consent", "active", "cart", "country", "sentiment", "none"])
        if extra == "consent":
            parts.append({"consent": {"not": "refused"}})
        elif extra == "active":
            parts.append({"last_login": {"within": f"{rng.choice([7, 30, 90])} days"}})
        elif extra == "cart":
            parts.append({"behavior": {"action": "cart_item_added", "at_least": 1}})
        elif extra == "country":
            parts.append({"any": [{"country": ["US", "CA"]}, {"missing": "location.city"}]})
        elif extra == "sentiment":
            parts.append({"not": {"sentiment.label": "negative"}})
        wheres.append({"all": parts})
    return wheres


def bench_segments(total: int) -> list[Segment]:
    built_in = list(load_segments().values())
    generated = [
        Segment(f"bench-{n:02d}", f"generated segment {n}", where)
        for n, where in enumerate(generated_wheres(total - len(built_in)))
    ]
    return (built_in + generated)[:total]


def write_segment_files(directory: Path, segments: list[Segment]) -> None:
    for segment in segments:
        document = {
            "description": segment.description,
            "parameters": segment.parameters,
            "where": segment.where,
        }
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        (directory / f"{segment.name}.yaml").write_text(text, encoding="utf-8")


def changed_profiles(count: int, now: datetime) -> list[Profile]:
    """The demo tenant's first ``count`` customers, folded from their events."""
    taxonomy = Taxonomy.load()
    by_user: dict[str, list[Event]] = {}
    for raw in synthetic_tenant(count, now=now):
        event = Event.model_validate(raw)
        by_user.setdefault(event.user.user_id, []).append(event)
    return [fold(None, events, taxonomy, now)[0] for events in by_user.values()]


def newcomer(n: int, run: str, now: datetime) -> dict[str, Any]:
    """A man of 30 with an email and no interests yet: in no segment that needs one."""
    born = now.date().replace(year=now.year - 30) - timedelta(days=40)
    return {
        "user_id": f"bench|{run}-{n}",
        "email": f"runner{n}@example.com",
        "name": f"Runner {n}",
        "gender": "male",
        "birthday": born.strftime("%m/%d/%Y"),
        "created_at": now.isoformat(),
    }


def envelope(kind: str, user: dict[str, Any], at: datetime, **extra: Any) -> bytes:
    body = {
        "schema": "authstream.event/1",
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "occurred_at": at.isoformat(),
        "source": "app",
        "tenant": "innovashoes",
        "user": user | extra,
    }
    return orjson.dumps(body)
