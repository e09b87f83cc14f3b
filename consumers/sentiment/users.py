"""Who a mention belongs to, and the per-user summary the sentiment stage publishes.

A user's mentions are every stored post by their Twitter handle or by their X user id (a renamed
account keeps its id; Auth0 knows it as the ``twitter`` identity's ``user_id``). The summary is
recomputed from all of them each time, never patched, so the order in which mentions, look-ups
and imports arrive does not matter.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consumers.profile.model import Block, Profile
from consumers.sentiment.mentions import NAMESPACE, mentions_digest
from consumers.sentiment.scoring import Mention, Scorer, summarise


@dataclass(frozen=True)
class Subject:
    """A known user, as far as their mentions are concerned."""

    user_id: str
    tenant: str | None
    handle: str | None
    author_ids: frozenset[str]
    current: Block | None  # the profile's sentiment block, when known


def twitter_ids(profile: Profile) -> set[str]:
    """The user's X user ids: from a ``twitter`` identity, or what the last summary learned."""
    ids: set[str] = set()
    if profile.user_id.startswith("twitter|"):
        ids.add(profile.user_id.removeprefix("twitter|"))
    identities = profile.auth0.get("identities")
    for identity in identities if isinstance(identities, list) else []:
        if isinstance(identity, dict) and identity.get("provider") == "twitter":
            ids.add(str(identity.get("user_id") or ""))
    known = profile.sentiment.finding("author_id") if profile.sentiment else None
    ids.update(str(i) for i in (known if isinstance(known, list) else [known]) if i)
    return {i for i in ids if i.isdigit()}


def subject_of(profile: Profile) -> Subject | None:
    if profile.deleted_at is not None:
        return None
    ids = frozenset(twitter_ids(profile))
    if not profile.twitter_handle and not ids:
        return None
    return Subject(profile.user_id, profile.tenant, profile.twitter_handle, ids, profile.sentiment)


def same_handle(block: Block | None, handle: str | None) -> bool:
    return block is not None and block.finding("handle") == handle


def summary_data(
    mentions: Sequence[Mention],
    subject: Subject,
    *,
    as_of: datetime,
    looked_up_at: datetime | None,
    scorer: Scorer,
    model: str,
) -> dict[str, Any]:
    """The ``data`` of a ``profile.sentiment`` event (the block the profile keeps).

    ``updated_at`` is when the mentions were read (taken before the read): a later summary has
    seen every mention an earlier one saw, so the index keeps the newest one.
    """
    data: dict[str, Any] = {
        "status": "no_mentions",
        "provider": model,
        "updated_at": as_of.isoformat(),
        "handle": subject.handle,
        "author_id": sorted(subject.author_ids),
        "digest": mentions_digest(m.id for m in mentions),
        "mentions": 0,
    }
    if looked_up_at is not None:
        data["looked_up_at"] = looked_up_at.isoformat()
    if mentions:
        data |= {"status": "ok"} | summarise(mentions, scorer=scorer).as_event_data()
    return data


def summary_event_id(subject: Subject, digest: str) -> str:
    """For summaries not caused by a request (imports, sweeps): the same user, handle and set of
    mentions give the same id, so publishing it again changes nothing."""
    name = f"profile.sentiment:{subject.user_id}:{subject.handle}:{digest}"
    return str(uuid.uuid5(NAMESPACE, name))
