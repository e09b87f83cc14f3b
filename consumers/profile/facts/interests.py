"""Interests mapped onto a small taxonomy (consumers/data/interests.json), with sources."""

import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from consumers.profile.facts.sources import Blob, dig

Interests = dict[str, set[str]]  # interest -> the sources that told us
PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")  # auth0, google-oauth2, samlp, ...


class Taxonomy:
    """Keyword → interest matching on whole words, case-insensitive."""

    CACHE_LIMIT = 50_000

    def __init__(self, keywords: dict[str, list[str]]) -> None:
        self.names = frozenset(keywords)
        # Likes and categories repeat across users ("Sports", "Nike Running"): remember answers.
        self._matched: dict[str, frozenset[str]] = {}
        self._patterns = {
            interest: re.compile(
                r"\b(" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b",
                re.IGNORECASE,
            )
            for interest, words in keywords.items()
        }

    def match(self, text: str) -> frozenset[str]:
        found = self._matched.get(text)
        if found is None:
            exact = text.strip().lower()
            found = frozenset(
                interest
                for interest, pattern in self._patterns.items()
                if interest == exact or pattern.search(text)
            )
            if len(self._matched) >= self.CACHE_LIMIT:
                self._matched.clear()
            self._matched[text] = found
        return found

    @classmethod
    def load(cls, path: str | None = None) -> "Taxonomy":
        return _load(path)


@cache
def _load(path: str | None) -> Taxonomy:
    if path:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    else:
        raw = json.loads(
            resources.files("consumers.data").joinpath("interests.json").read_text("utf-8")
        )
    return Taxonomy({k: v for k, v in raw.items() if not k.startswith("_")})


def _texts(items: Any, *keys: str) -> Iterable[str]:
    """Strings from a list of strings or of objects (``{"name": ..., "category": ...}``)."""
    if isinstance(items, dict) and isinstance(items.get("data"), list):  # Graph API paging shape
        items = items["data"]
    if isinstance(items, str):
        items = [items]
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from (item[k] for k in keys if isinstance(item.get(k), str))


def _provider_name(provider: Any) -> str:
    """A linked identity's provider as an interest source (``google-oauth2``); anything that is
    not a provider's name is just ``identity`` (sources are keywords in the profile, and a long
    one would make Elasticsearch refuse it)."""
    if isinstance(provider, str) and PROVIDER_NAME.fullmatch(provider):
        return provider
    return "identity"


def add_interests(found: Interests, texts: Iterable[str], source: str, taxonomy: Taxonomy) -> None:
    for text in texts:
        for interest in taxonomy.match(text):
            found.setdefault(interest, set()).add(source)


def interests_from(user: dict[str, Any], fullcontact: list[Blob], taxonomy: Taxonomy) -> Interests:
    found: Interests = {}
    add_interests(found, _texts(dig(user, "user_metadata", "interests")), "declared", taxonomy)
    add_interests(found, _texts(user.get("likes"), "name", "category"), "facebook", taxonomy)
    identities = user.get("identities")
    for identity in identities if isinstance(identities, list) else []:
        source = _provider_name(dig(identity, "provider"))
        add_interests(
            found,
            _texts(dig(identity, "profileData", "likes"), "name", "category"),
            source,
            taxonomy,
        )
    for blob in fullcontact:
        data = blob.data
        topics = _texts(dig(data, "digitalFootprint", "topics"), "value")
        interests = _texts(dig(data, "details", "interests"), "name", "category")
        add_interests(found, [*interests, *topics], "fullcontact", taxonomy)
    return found
