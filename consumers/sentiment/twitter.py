"""X API v2 recent search: ``GET /2/tweets/search/recent`` with an app bearer token.

What the sentiment stage asks X: posts that mention the brand (``@handle`` or a keyword), not by
the brand itself, not retweets — of one user (``from:handle``) or of everyone (the sweep). Recent
search covers the last 7 days; ``since_id`` asks only for posts newer than one already read, and
is dropped when it points before that window (X refuses it then). Pages come newest first, 10 to
100 posts each, chained by ``next_token``. X bills every post it returns.

Errors are translated by ``thirdparty.http`` (401/403 → rejected credentials, 429 → rate limited
until ``x-rate-limit-reset``, 5xx → unavailable); a 400 means X refuses the query authstream built
from its settings, a configuration error.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from pydantic import ValidationError

from consumers.core.errors import ConfigurationError
from consumers.core.settings import Settings
from consumers.sentiment.mentions import MentionRecord
from consumers.thirdparty.http import pooled_client, request, retry_after

SEARCH_PATH = "/2/tweets/search/recent"
MIN_RESULTS, MAX_RESULTS = 10, 100  # what X accepts for max_results
MAX_QUERY_LENGTH = 512  # recent search on the self-serve plans
SEARCHABLE = timedelta(days=7)
_SINCE_ID_MARGIN = timedelta(hours=1)  # stay clear of the window's edge
_TWITTER_EPOCH_MS = 1_288_834_974_657


def _quoted(keyword: str) -> str:
    words = keyword.replace('"', " ").split()
    return " ".join(words) if len(words) == 1 else '"' + " ".join(words) + '"'


def brand_query(brand: str, keywords: Sequence[str] = (), author: str | None = None) -> str:
    """``from:alice (@InnovaShoes OR "innova stride") -from:InnovaShoes -is:retweet``."""
    terms = [f"@{brand}", *(_quoted(k) for k in keywords if k.strip())]
    clause = terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"
    parts = ([f"from:{author}"] if author else []) + [clause, f"-from:{brand}", "-is:retweet"]
    return " ".join(parts)


def check_query(query: str) -> str:
    if len(query) > MAX_QUERY_LENGTH:
        raise ConfigurationError(
            f"the X search query is {len(query)} characters, over X's {MAX_QUERY_LENGTH}: "
            "shorten AUTHSTREAM_BRAND_KEYWORDS"
        )
    return query


def posted_at(post_id: str) -> datetime | None:
    """When a post was made, read from its id (X ids are time-ordered snowflakes)."""
    if not post_id.isdigit():
        return None
    return datetime.fromtimestamp(((int(post_id) >> 22) + _TWITTER_EPOCH_MS) / 1000, UTC)


def usable_since_id(since_id: str | None, now: datetime) -> str | None:
    """``since_id`` if X still accepts it: a post inside the searchable window."""
    moment = posted_at(since_id) if since_id else None
    if moment is None or moment < now - SEARCHABLE + _SINCE_ID_MARGIN:
        return None
    return since_id


def newest(*ids: str | None) -> str | None:
    known = [i for i in ids if i and i.isdigit()]
    return max(known, key=int) if known else None


@dataclass(frozen=True)
class Page:
    posts: list[MentionRecord]
    returned: int  # posts X returned (and billed), including any authstream could not use
    next_token: str | None
    newest_id: str | None
    oldest_id: str | None
    rate_remaining: int | None  # x-rate-limit-remaining
    rate_reset_in_s: float | None  # until x-rate-limit-reset


class SearchApi(Protocol):
    async def search(
        self,
        query: str,
        *,
        max_results: int,
        since_id: str | None = None,
        until_id: str | None = None,
        next_token: str | None = None,
    ) -> Page: ...

    async def aclose(self) -> None: ...


def _posts(body: dict[str, Any]) -> list[MentionRecord]:
    users = {
        str(u.get("id")): str(u.get("username"))
        for u in (body.get("includes") or {}).get("users") or []
        if isinstance(u, dict) and u.get("username")
    }
    posts = []
    for item in body.get("data") or []:
        if not isinstance(item, dict):
            continue
        author = str(item.get("author_id") or "")
        try:
            posts.append(
                MentionRecord.model_validate(
                    {
                        "id": item.get("id"),
                        "handle": users.get(author),
                        "text": item.get("text"),
                        "created_at": item.get("created_at"),
                        "author_id": author or None,
                        "lang": item.get("lang"),
                    }
                )
            )
        except ValidationError:
            continue  # no author name or no date: not a mention authstream can attribute
    return posts


class XRecentSearch:
    provider = "x"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> "XRecentSearch":
        assert settings.x_bearer_token is not None
        token = settings.x_bearer_token.get_secret_value()
        client = pooled_client(
            settings.x_api_base_url, settings.x_timeout_s, {"Authorization": f"Bearer {token}"}
        )
        return cls(client)

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        since_id: str | None = None,
        until_id: str | None = None,
        next_token: str | None = None,
    ) -> Page:
        params = {
            "query": query,
            "max_results": str(max(MIN_RESULTS, min(MAX_RESULTS, max_results))),
            "tweet.fields": "created_at,author_id,lang",
            "expansions": "author_id",
            "user.fields": "username",
        }
        optional = {"since_id": since_id, "until_id": until_id, "next_token": next_token}
        params |= {k: v for k, v in optional.items() if v}
        response = await request(
            self.client, "X", "GET", SEARCH_PATH, handled=frozenset({200, 400}), params=params
        )
        body = response.json() if response.content else {}
        if response.status_code == 400:
            errors = body.get("errors") or [{}]
            detail = errors[0].get("message") or body.get("detail") or "invalid request"
            raise ConfigurationError(f"X refused the search ({detail}); query: {query}")
        if response.status_code != 200:
            raise ConfigurationError(f"X answered {response.status_code} to a search")
        meta = body.get("meta") or {}
        remaining = response.headers.get("x-rate-limit-remaining", "")
        return Page(
            posts=_posts(body),
            returned=int(meta.get("result_count") or len(body.get("data") or [])),
            next_token=meta.get("next_token") or None,
            newest_id=meta.get("newest_id") or None,
            oldest_id=meta.get("oldest_id") or None,
            rate_remaining=int(remaining) if remaining.strip().isdigit() else None,
            rate_reset_in_s=retry_after(response),
        )

    async def aclose(self) -> None:
        await self.client.aclose()
