"""The profiles this process wrote last, kept so that the next write of their users need not read
them back.

The index stage is the only writer of profiles, and a user's events come in bursts: a login, then
the findings it causes (enrichment, sentiment, segment entries) seconds later, then the next
login. Reading each profile back (``mget``) and validating it was a sixth of the stage's CPU, and
most of what Elasticsearch did for it. So a profile this process wrote is kept, with the sequence
number and primary term its write got, and the next write of that user is conditional on them
(``if_seq_no``, as every profile write is): if anyone wrote the profile since (another worker,
``authstream forget``, a restore), Elasticsearch answers 409, the entry is dropped, and the profile
is read and folded again, as for any conflict. A stale entry costs one conflict round, never an
update.

The fold must see exactly what a read would have shown it. A profile is kept as the object the
fold made only when that object is what reading its JSON back gives (``reads_back_the_same``);
otherwise (a new finding whose data holds a NaN or a key set to none, which JSON writes otherwise)
it is kept as the JSON written, validated on use exactly as a read is. Entries are tied to the
index the users alias pointed at when they were written, because sequence numbers count per index:
when the alias moves (a mapping rolled out by reindexing behind it), none is used.

At most ``capacity`` profiles are kept (the least recently written go first): about 14 KB each as
objects, 4 KB as JSON, on the benchmark's users.
"""

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from consumers.pipeline import metrics
from consumers.profile.model import Block, Profile
from consumers.stages.derived import IN_JSON

# What a new profile is compared with: every field that may hold what JSON writes otherwise, empty.
_NOTHING: dict[str, Any] = dict.fromkeys(IN_JSON) | {"enrichment": {}}


@dataclass(frozen=True, slots=True)
class Kept:
    profile: Profile | None  # the fold's own object, when it reads back the same
    document: bytes | None  # else the JSON written
    index: str  # the backing index the write went to
    seq_no: int
    primary_term: int


@dataclass(frozen=True, slots=True)
class Recalled:
    """A kept profile as a read would give it: the profile, the document as stored when it had to
    be parsed (None: compare with the profile itself), and what its next write is conditional on."""

    profile: Profile
    stored: dict[str, Any] | None
    seq_no: int
    primary_term: int


def reads_back_the_same(before: Profile | None, after: Profile) -> bool:
    """Whether ``after`` is what validating its own JSON gives, when ``before`` is (a profile
    read, or one kept by this rule). Every field holds JSON values or typed values JSON keeps,
    except those that may hold what JSON writes otherwise (``derived.IN_JSON``: a finding's data
    and the facts read from it): a NaN (written null), a finding's key set to none (left out).
    What equals ``before``'s is as ``before`` is, so only what changed is looked into."""
    old = before.__dict__ if before is not None else _NOTHING
    new = after.__dict__
    for name in ("location", "employment"):
        value = new[name]
        if value is not None and value != old[name] and not _reads_back(value):
            return False
    sentiment = new["sentiment"]
    if sentiment is not None and sentiment != old["sentiment"] and not _block_reads_back(sentiment):
        return False
    known = old["enrichment"]
    return all(
        block == known.get(provider) or _block_reads_back(block)
        for provider, block in new["enrichment"].items()
    )


def _block_reads_back(block: Block) -> bool:
    # A finding's key set to none is left out of the JSON (``exclude_none``), so reads back absent.
    return all(v is not None and _reads_back(v) for v in (block.model_extra or {}).values())


def _reads_back(value: Any) -> bool:
    """Whether JSON writes ``value`` so that reading it back gives an equal value."""
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_reads_back(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _reads_back(v) for k, v in value.items())
    return False


class WrittenProfiles:
    """An LRU of the profiles this process wrote, by user id (``capacity`` 0 keeps none)."""

    def __init__(self, capacity: int, stage: str) -> None:
        self.capacity = capacity
        self._kept: OrderedDict[str, Kept] = OrderedDict()
        self._found = metrics.PROFILE_READS.labels(stage, "kept")
        self._read = metrics.PROFILE_READS.labels(stage, "elasticsearch")

    def __len__(self) -> int:
        return len(self._kept)

    def holds_any(self, user_ids: list[str]) -> bool:
        return bool(self._kept) and any(u in self._kept for u in user_ids)

    def recall(
        self, user_ids: list[str], index: str | None
    ) -> tuple[dict[str, Recalled], list[str]]:
        """The kept profiles of these users written to ``index`` (where the users alias points
        now), and the users whose profiles must be read. Entries of another index are dropped."""
        found: dict[str, Recalled] = {}
        unknown: list[str] = []
        for user_id in user_ids:
            kept = self._kept.get(user_id)
            if kept is not None and kept.index != index:
                del self._kept[user_id]
                kept = None
            if kept is None:
                unknown.append(user_id)
                continue
            if kept.profile is not None:
                found[user_id] = Recalled(kept.profile, None, kept.seq_no, kept.primary_term)
            else:
                assert kept.document is not None
                stored = orjson.loads(kept.document)
                profile = Profile.model_validate(stored)
                found[user_id] = Recalled(profile, stored, kept.seq_no, kept.primary_term)
        self._found.inc(len(found))
        self._read.inc(len(unknown))
        return found, unknown

    def keep(
        self,
        user_id: str,
        written: tuple[Profile | None, Profile, bytes],
        index: str,
        seq_no: int,
        primary_term: int,
    ) -> None:
        """Keep a profile whose write succeeded: ``written`` is (before, after, after's JSON)."""
        if not self.capacity:
            return
        before, after, document = written
        if reads_back_the_same(before, after):
            kept = Kept(after, None, index, seq_no, primary_term)
        else:
            kept = Kept(None, document, index, seq_no, primary_term)
        self._kept[user_id] = kept
        self._kept.move_to_end(user_id)
        if len(self._kept) > self.capacity:
            self._kept.popitem(last=False)

    def drop(self, user_id: str) -> None:
        """Forget a user's profile: its write failed or someone else changed it."""
        self._kept.pop(user_id, None)
