"""Erasing one user from Elasticsearch: their event documents, cached enrichment answers, and
an audit record of the erasure. The profile itself becomes a tombstone, written by whoever
erases (the index stage, or ``authstream forget``), so late events cannot bring it back.

No delete-by-query (a module the core distribution lacks): search, then bulk delete, a bounded
number of rounds, so a delete that keeps failing ends with an error instead of a loop.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch

from consumers.core.errors import ElasticsearchUnavailable
from consumers.core.names import Names
from consumers.profile.anonymous import anonymous_user_id

ROUNDS = 10
PAGE = 1_000


@dataclass
class Erased:
    user_id: str
    profile: bool = False
    events: int = 0
    enrichment: int = 0
    queue_copies: int = 0
    visitors: int = 0  # anonymous visitors identified as the user (their records and events)

    def summary(self) -> str:
        return (
            f"erased {self.user_id}: profile {'yes' if self.profile else 'none'}, "
            f"{self.events:,} event(s), {self.enrichment:,} cached enrichment answer(s), "
            f"{self.queue_copies:,} queued cop(y/ies), {self.visitors:,} anonymous visitor(s)"
        )


async def delete_matching(es: AsyncElasticsearch, index: str, query: dict[str, Any]) -> int:
    """Delete every document matching ``query``; how many. Raises if deletes keep failing."""
    deleted = 0
    for _ in range(ROUNDS):
        await es.options(ignore_status=404).indices.refresh(index=index)
        found = await es.options(ignore_status=(404, 503)).search(
            index=index, query=query, size=PAGE, source=False
        )
        hits = found.get("hits", {}).get("hits", [])
        if not hits:
            return deleted
        answer = await es.bulk(
            operations=[{"delete": {"_index": h["_index"], "_id": h["_id"]}} for h in hits],
            refresh=True,
            filter_path="items.*.status,items.*.error",
        )
        statuses = [next(iter(item.values()))["status"] for item in answer.get("items", [])]
        deleted += sum(status in (200, 404) for status in statuses)
    raise ElasticsearchUnavailable(
        f"documents in {index} could not all be deleted after {ROUNDS} rounds"
    )


async def visitors_of(es: AsyncElasticsearch, names: Names, user_id: str) -> list[str]:
    """The anonymous ids identified as this user (none where the visitors index is missing)."""
    await es.options(ignore_status=404).indices.refresh(index=names.visitors_index)
    found = await es.options(ignore_status=404).search(
        index=names.visitors_index, query={"term": {"user_id": user_id}}, size=PAGE, source=False
    )
    return [hit["_id"] for hit in found.get("hits", {}).get("hits", [])]


async def erase_documents(
    es: AsyncElasticsearch, names: Names, user_id: str, email_hashes: list[str]
) -> Erased:
    erased = Erased(user_id)
    erased.events = await delete_matching(es, names.events_stream, {"term": {"user.id": user_id}})
    # What the user did before logging in, as the visitors they were identified as.
    visitors = await visitors_of(es, names, user_id)
    if visitors:
        anonymous = [anonymous_user_id(v) for v in visitors]
        erased.events += await delete_matching(
            es, names.events_stream, {"terms": {"user.id": anonymous}}
        )
        erased.visitors = await delete_matching(
            es, names.visitors_index, {"term": {"user_id": user_id}}
        )
    if email_hashes:
        erased.enrichment = await delete_matching(
            es, names.enrichment_cache, {"terms": {"email_hash": email_hashes}}
        )
    return erased


async def write_audit(
    es: AsyncElasticsearch, names: Names, erased: Erased, trigger: str, at: datetime
) -> None:
    """When, what and how much; no personal data but the id the erasure was asked for."""
    await es.index(
        index=names.audit_index,
        document={"at": at.isoformat(), "action": "erasure", "trigger": trigger, **asdict(erased)},
        refresh=True,
    )
