"""Brand mentions: the import format, the message that carries one to the sentiment stage, and
their store in Elasticsearch.

A mention is one post about the brand: ``id``, the author's ``handle``, ``text``, ``created_at``,
and optionally ``author_id``, ``url`` and ``lang``. It comes from an import file (``authstream
mentions import``) or from the X API; both end in ``MentionStore.add``, which scores the text and
stores the post once (``_id`` = the post id, create-only): importing a file twice changes nothing.
Mentions are kept whether or not authstream knows their author yet; a profile that gains the
handle later finds them there.
"""

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from elasticsearch import AsyncElasticsearch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from consumers.core.names import Names
from consumers.profile.facts.identity import normalise_handle
from consumers.sentiment.models import LexiconModel, SentimentModel
from consumers.sentiment.scoring import Mention
from schemas import SCHEMA_ID
from schemas.types import Timestamp

MENTION_TYPE = "sentiment.mention"  # the message type (and routing key) of one imported mention
NAMESPACE = uuid.UUID("3f6f1c52-0f1b-4d8e-9a51-6c2b7e0d9a11")
# A user's summary reads at most this many of their newest mentions: with a 14-day half-life,
# older ones weigh nothing, and the evidence is the most negative among these.
MENTIONS_PER_USER = 500
_POST_ID = re.compile(r"^[A-Za-z0-9_:.-]{1,128}$")


class MentionRecord(BaseModel):
    """One mention as imported or read from X, validated."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    id: str = Field(description="The post id (X's, or the export's own id)")
    handle: str = Field(description="The author's X/Twitter screen name, with or without @")
    text: str = Field(min_length=1, max_length=10_000)
    created_at: Timestamp
    author_id: str | None = None
    url: str | None = None
    lang: str | None = Field(default=None, max_length=16)

    @field_validator("id")
    @classmethod
    def _post_id(cls, value: str) -> str:
        value = value.strip()
        if not _POST_ID.match(value):
            raise ValueError("must be 1-128 letters, digits or _:.- (a post id)")
        return value

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str) -> str:
        handle = normalise_handle(value)
        if handle is None:
            raise ValueError("is not an X handle (1-15 letters, digits or _, with or without @)")
        return handle

    @field_validator("author_id")
    @classmethod
    def _author_id(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().isdigit():
            raise ValueError("must be a numeric X user id")
        return value.strip()

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank")
        return value

    @model_validator(mode="after")
    def _default_url(self) -> "MentionRecord":
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise ValueError("url: must be an http(s) URL")
        if self.url is None and self.id.isdigit():
            self.url = post_url(self.handle, self.id)
        return self

    def as_mention(self) -> Mention:
        return Mention(self.id, self.text, self.created_at, self.url or "", self.handle)


def post_url(handle: str, post_id: str) -> str:
    return f"https://x.com/{handle}/status/{post_id}"


def mention_event(record: MentionRecord, source: str) -> dict[str, Any]:
    """The message that carries one mention to the sentiment stage (``authstream.derived``).

    An ``authstream.event/1`` envelope whose subject is the post's author on X (Auth0 names a
    Twitter user ``twitter|<id>``); its id follows from the post id, so a re-import publishes the
    same message ids. It never reaches the index stage: it is not a fact about an Auth0 user.
    """
    subject = f"twitter|{record.author_id}" if record.author_id else f"x-handle|{record.handle}"
    return {
        "schema": SCHEMA_ID,
        "event_id": str(uuid.uuid5(NAMESPACE, f"mention:{record.id}")),
        "type": MENTION_TYPE,
        "occurred_at": record.created_at.isoformat(),
        "source": "authstream",
        "user": {"user_id": subject, "screen_name": record.handle},
        "data": {"mention": record.model_dump(mode="json"), "from": source},
    }


def mentions_digest(ids: Iterable[str]) -> str:
    """A short fingerprint of a set of mention ids: the same set, the same digest."""
    joined = "\n".join(sorted(set(ids)))
    return hashlib.blake2b(joined.encode(), digest_size=8).hexdigest()


class MentionStore:
    """The ``authstream-mentions`` index: add (score + create-only) and read one user's posts."""

    def __init__(
        self,
        es: AsyncElasticsearch,
        names: Names,
        model: SentimentModel | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.es = es
        # Made once: each es.options() builds a client, ~40 sub-clients in reference cycles.
        self.missing_ok = es.options(ignore_status=404)
        self.index = names.mentions_index
        self.model: SentimentModel = model or LexiconModel()
        self.clock = clock

    async def add(
        self, records: Sequence[MentionRecord], source: str
    ) -> tuple[set[str], dict[str, str]]:
        """Score and store posts not stored yet. Returns the ids newly stored and the ids
        Elasticsearch refused, with why. Visible to searches when this returns."""
        if not records:
            return set(), {}
        now = self.clock().isoformat()
        operations: list[dict[str, Any]] = []
        scores = self.model.score_all([record.text for record in records])
        for record, score in zip(records, scores, strict=True):
            operations += [
                {"create": {"_index": self.index, "_id": record.id}},
                record.model_dump(mode="json")
                | {
                    "score": round(score.compound, 4),
                    "label": score.label,
                    "model": self.model.name,
                    "source": source,
                    "stored_at": now,
                },
            ]
        # wait_for: a summary asked for after this returns must see these posts.
        answer = await self.es.bulk(
            operations=operations, refresh="wait_for", filter_path="items.*.status,items.*.error"
        )
        created: set[str] = set()
        refused: dict[str, str] = {}
        for record, entry in zip(records, answer["items"], strict=True):
            item = next(iter(entry.values()))
            status = item["status"]
            if status < 300:
                created.add(record.id)
            elif status != 409:  # 409: stored before, nothing to do
                refused[record.id] = f"Elasticsearch answered {status}: {item.get('error')}"
        return created, refused

    async def of_user(self, handle: str | None, author_ids: Iterable[str]) -> list[Mention]:
        """The newest mentions by this handle or these X user ids (a renamed account keeps its
        id), at most ``MENTIONS_PER_USER``."""
        should: list[dict[str, Any]] = []
        if handle:
            should.append({"term": {"handle": handle}})
        ids = sorted(set(author_ids))
        if ids:
            should.append({"terms": {"author_id": ids}})
        if not should:
            return []
        found = await self.missing_ok.search(
            index=self.index,
            query={"bool": {"should": should, "minimum_should_match": 1}},
            sort=[{"created_at": "desc"}, {"id": "asc"}],
            size=MENTIONS_PER_USER,
        )
        docs = [hit["_source"] for hit in found.get("hits", {}).get("hits", [])]
        # A mention scored by another model (before an upgrade) is scored again, in memory.
        stale = [doc["text"] for doc in docs if doc.get("model") != self.model.name]
        rescored = iter(self.model.score_all(stale))
        return [
            Mention(
                doc["id"],
                doc["text"],
                datetime.fromisoformat(doc["created_at"]),
                doc.get("url") or "",
                doc["handle"],
                float(doc["score"])
                if doc.get("model") == self.model.name
                else next(rescored).compound,
            )
            for doc in docs
        ]
