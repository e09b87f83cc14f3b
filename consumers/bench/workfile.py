"""The indexer benchmark's workload, streamed through files instead of held in memory.

At 200,000 events the harness used to hold every envelope three times (dicts, JSON lines, decoded
events) and the limit baseline's prepared writes once more: about 5 GB. Now the workload is
written to a JSON-lines file as it is generated, the publisher streams that file, and the limit
baseline prepares its bulk bodies into a second file (not timed) and sends them one at a time.
Only the users (one in five events) and the folded profiles (as compact JSON) stay in memory.
"""

import random
import struct
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from consumers.core.names import Names
from consumers.demo.synthetic import synthetic_event, synthetic_user
from consumers.pipeline.decode import decode_event
from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.profile.model import Profile
from consumers.stages.index import event_document
from schemas import Event

_LENGTH = struct.Struct("<I")


class Users:
    """The users a workload has signed up, with their connections, to draw logins from. Given a
    ``limit``, a signup beyond it takes the place of the oldest (who never logs in again: churn),
    so a generator that runs for hours holds the same number of users as after its first minutes.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.held: list[tuple[dict[str, Any], str]] = []
        self.created = 0

    def add(self, user: dict[str, Any], connection: str) -> None:
        if self.limit is None or len(self.held) < self.limit:
            self.held.append((user, connection))
        else:  # slots fill in signup order, so this one holds the oldest
            self.held[self.created % self.limit] = (user, connection)
        self.created += 1


def iter_workload(
    total: int, seed: int = 11, users: Users | None = None
) -> Iterator[dict[str, Any]]:
    """``total`` envelopes: one in five a signup, the rest logins of users who signed up before
    (all of them, or those ``users`` still holds)."""
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:8]  # fresh event ids every run
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    known = users if users is not None else Users()
    for i in range(total):
        at = start + timedelta(seconds=i)
        if i % 5 == 0 or not known.held:
            user, connection = synthetic_user(rng, known.created, at)
            user |= {"logins_count": 1, "created_at": at.isoformat()}
            known.add(user, connection)
            kind = "auth.signup"
        else:
            slot = rng.randrange(len(known.held))
            user, connection = known.held[slot]
            user = user | {"logins_count": user["logins_count"] + 1, "last_login": at.isoformat()}
            known.held[slot] = (user, connection)
            kind = "auth.login"
        yield synthetic_event(f"{run}/{i}", kind, at, user, connection)


def workload(total: int, seed: int = 11) -> list[dict[str, Any]]:
    return list(iter_workload(total, seed))


def write_workload(path: Path, total: int, seed: int = 11) -> Path:
    """The workload as JSON lines, written as it is generated."""
    with path.open("wb") as out:
        for envelope in iter_workload(total, seed):
            out.write(orjson.dumps(envelope) + b"\n")
    return path


def read_batches(path: Path, size: int, max_bytes: int) -> Iterator[list[tuple[bytes, Event]]]:
    """The workload file's lines with their decoded events, ``size`` at a time."""
    batch: list[tuple[bytes, Event]] = []
    with path.open("rb") as lines:
        for line in lines:
            body = line.rstrip(b"\n")
            batch.append((body, decode_event(body, max_bytes)))
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def prepare_bulk_bodies(
    workload_file: Path, out: Path, names: Names, batch_size: int, max_bytes: int
) -> int:
    """The indexer's writes for the workload, one NDJSON bulk body per indexer batch (every event
    document, one folded profile per user per batch), length-prefixed in ``out``. Profiles are
    kept between batches as compressed JSON. Returns the number of events."""
    taxonomy, now = Taxonomy.load(), datetime.now(UTC)
    profiles: dict[str, bytes] = {}
    events = 0
    with out.open("wb") as bodies:
        for batch in read_batches(workload_file, batch_size, max_bytes):
            lines: list[bytes] = []
            by_user: dict[str, list[Event]] = defaultdict(list)
            for _, event in batch:
                by_user[event.user.user_id].append(event)
                action = {"create": {"_index": names.events_stream, "_id": event.event_id}}
                lines += [orjson.dumps(action), orjson.dumps(event_document(event, now))]
            for user_id, theirs in by_user.items():
                stored = profiles.get(user_id)
                before = Profile.model_validate_json(zlib.decompress(stored)) if stored else None
                after, _ = fold(before, theirs, taxonomy, now)
                document = orjson.dumps(after.document())
                # Compressed, which also copies it: orjson's bytes keep their spare capacity
                # (about 15 KB each here), 40,000 of them were most of the harness's memory.
                profiles[user_id] = zlib.compress(document, 1)
                lines += [
                    orjson.dumps({"index": {"_index": names.users_alias, "_id": user_id}}),
                    document,
                ]
            body = b"\n".join(lines) + b"\n"
            bodies.write(_LENGTH.pack(len(body)) + body)
            events += len(batch)
    return events


def read_bodies(source: BinaryIO) -> Iterator[bytes]:
    while header := source.read(_LENGTH.size):
        yield source.read(_LENGTH.unpack(header)[0])
