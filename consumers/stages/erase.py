"""Erasing one user everywhere authstream keeps them (GDPR): used by the index stage for
``user.deleted`` and by ``authstream forget``.

The profile becomes a tombstone (written by the caller, with optimistic concurrency, so late
events cannot bring it back); this module removes the rest: event documents, cached enrichment
answers for their email, copies waiting in retry queues and parking lots; and it writes an audit
record (when, what, how many).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch

from consumers.broker import admin
from consumers.broker.scrub import scrub
from consumers.core.errors import ElasticsearchUnavailable
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.enrich import email_hash
from consumers.profile.fold import tombstone
from consumers.profile.model import Profile
from consumers.store.erasure import Erased, erase_documents, write_audit

CONFLICT_ROUNDS = 10


async def erase_everywhere(
    es: AsyncElasticsearch,
    settings: Settings,
    user_id: str,
    emails: Sequence[str],
    queues: Sequence[str],
    trigger: str,
    now: datetime,
    had_profile: bool,
) -> Erased:
    names = Names(settings.name_prefix)
    hashes = sorted({email_hash(e) for e in emails if e})
    erased = await erase_documents(es, names, user_id, hashes)
    erased.profile = had_profile
    async with admin.connect(settings, name="authstream erasure") as connection:
        with admin.broker_errors(settings):
            erased.queue_copies = await scrub(connection, queues, user_id)
    await write_audit(es, names, erased, trigger, now)
    return erased


def copy_queues(names: Names, stages: Sequence[str], delays_ms: Sequence[int]) -> list[str]:
    """Where copies of a user's messages can wait: every stage's retry queues and parking lot."""
    return [
        queue
        for stage in stages
        for queue in (
            *(names.retry_queue(stage, d) for d in dict.fromkeys(delays_ms)),
            names.parking_lot(stage),
        )
    ]


async def tombstone_profile(
    es: AsyncElasticsearch, names: Names, user_id: str, at: datetime
) -> Profile | None:
    """Replace the profile with a tombstone (optimistic concurrency, so a concurrent write by
    the index stage is retried against the tombstone); the profile it replaced, if any."""
    for _ in range(CONFLICT_ROUNDS):
        found = await es.options(ignore_status=404).get(index=names.users_alias, id=user_id)
        before = Profile.model_validate(found["_source"]) if found.get("found") else None
        stone = tombstone(user_id, at, before.applied_events if before else [])
        if before is not None and before.deleted_at is not None:
            return None  # already erased
        versions: dict[str, Any] = (
            {"if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"]}
            if before is not None
            else {"op_type": "create"}
        )
        answer = await es.options(ignore_status=409).index(
            index=names.users_alias, id=user_id, document=stone.document(), refresh=True, **versions
        )
        if answer.meta.status != 409:
            return before
    raise ElasticsearchUnavailable(f"the profile of {user_id} kept changing; try again")
