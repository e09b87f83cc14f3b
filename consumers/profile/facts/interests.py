"""Interests mapped onto a small taxonomy (consumers/data/interests.json), with sources."""

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from consumers.profile.facts.similarity import Similarity
from consumers.profile.facts.sources import Blob, dig

Interests = dict[str, set[str]]  # interest -> the sources that told us
PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")  # auth0, google-oauth2, samlp, ...


def _normal(text: str) -> str:
    """Lower case, one spelling of "and" and of the apostrophe, separators as spaces: what the
    data file's phrases are written against ("Cross-training", "Training & Gym")."""
    text = text.lower().replace("\u2019", "'").replace("&", " and ")
    return " ".join(re.sub(r"[-_/>|,;:()]+", " ", text).split())


def _pattern(phrases: Iterable[str], plurals: bool) -> re.Pattern[str] | None:
    """Whole words or phrases, also in their plural (marathon, marathons; a "movie marathon"
    exclusion also rules out "movie marathons")."""
    words = sorted({_normal(p) for p in phrases if p.strip()}, key=len, reverse=True)
    if not words:
        return None
    plural = "(?:s|es)?" if plurals else ""
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")" + plural + r"\b")


@dataclass(frozen=True)
class Term:
    """How one interest is recognised (one entry of the data file)."""

    keywords: re.Pattern[str] | None  # generic words and proper names, anywhere in a text
    names: re.Pattern[str] | None  # the proper names alone: a brand or a race has one sense
    whole_names: frozenset[str]  # names that say it only as the whole text ("Polar", "rabbit")
    exclude: re.Pattern[str] | None  # a text with one of these gives not this term by keyword
    not_for_categories: frozenset[str]  # page categories whose names never give this term
    implies: tuple[str, ...]  # running is fitness too
    # Words that say it only in a page of one category ("run" in a Sports Event: a race).
    in_categories: dict[str, re.Pattern[str]]

    @classmethod
    def from_data(cls, raw: list[str] | dict[str, Any]) -> "Term":
        spec: dict[str, Any] = {"keywords": raw} if isinstance(raw, list) else raw
        names = [name for group in spec.get("names", {}).values() for name in group]
        return cls(
            _pattern([*spec.get("keywords", []), *names], plurals=True),
            _pattern(names, plurals=True),
            frozenset(_normal(name) for name in spec.get("whole_names", [])),
            _pattern(spec.get("exclude", []), plurals=True),
            frozenset(_normal(c) for c in spec.get("not_for_page_categories", [])),
            tuple(spec.get("implies", [])),
            {
                _normal(category): pattern
                for category, words in spec.get("page_category_keywords", {}).items()
                if (pattern := _pattern(words, plurals=True)) is not None
            },
        )

    def said_by(self, text: str, category: str = "") -> bool:
        """Whether a text (a page name, with its page category) gives this term."""
        return self.mentioned_in(text, category) and not self.excluded(text)

    def mentioned_in(self, text: str, category: str = "") -> bool:
        """Whether a keyword or name of this term is in the text, exclusions aside."""
        in_category = self.in_categories.get(category)
        return (
            text in self.whole_names
            or (self.keywords is not None and self.keywords.search(text) is not None)
            or (in_category is not None and in_category.search(text) is not None)
        )

    def is_all_of(self, text: str) -> bool:
        """Whether the text is one keyword or name and nothing else ("Marathons", "Strava")."""
        return text in self.whole_names or (
            self.keywords is not None and self.keywords.fullmatch(text) is not None
        )

    def names_one(self, text: str) -> bool:
        """Whether the text holds one of the term's proper names ("parkrun volunteering")."""
        return self.names is not None and self.names.search(text) is not None

    def excluded(self, text: str) -> bool:
        return self.exclude is not None and bool(self.exclude.search(text))


class Taxonomy:
    """Interest terms recognised in texts (likes, declared interests, product categories) by
    whole-word keywords and phrases, with exclusions, page categories that rule a term out, and
    implications; then, for the terms it covers, by similarity to labelled examples
    (``similarity.py``): it gives a term to a text the keywords left undecided, and takes back a
    keyword match on a page name that the examples around it contradict. What matches is data
    (consumers/data/interests.json, interests_examples.jsonl), not code."""

    CACHE_LIMIT = 50_000

    def __init__(
        self,
        terms: dict[str, Any],
        similarity: Similarity | Callable[[], Similarity | None] | None = None,
    ) -> None:
        self.names = frozenset(terms)
        self._terms = {name: Term.from_data(raw) for name, raw in terms.items()}
        # A loader is called on the first text that needs it: importing the taxonomy (the CLI,
        # segment definitions) costs nothing, and the encoder comes later still.
        self._similarity_source = similarity
        self._similarity: Similarity | None = None
        # Likes and categories repeat across users ("Sports", "Nike Running"): remember answers,
        # which also keeps the encoder to one pass per distinct text.
        self._matched: dict[tuple[str, str], frozenset[str]] = {}

    @property
    def similarity(self) -> Similarity | None:
        source, self._similarity_source = self._similarity_source, None
        if source is not None:
            loaded = source if isinstance(source, Similarity) else source()
            self._similarity = loaded.bind(self.keyword_mentions) if loaded else None
        return self._similarity

    def match(self, text: str) -> frozenset[str]:
        """The terms a text gives (a declared interest, a product category, a bare like)."""
        return self.match_page(text, "")

    def match_page(self, name: str, category: str = "") -> frozenset[str]:
        """The terms a page gives: from its name unless its category rules them out (a TV show
        called "Running Man"), and from its category ("Gym/Physical Fitness Center")."""
        key = (name, category)
        found = self._matched.get(key)
        if found is None:
            found = self._implied(self._from_page(name, category))
            if len(self._matched) >= self.CACHE_LIMIT:
                self._matched.clear()
            self._matched[key] = found
        return found

    def _from_page(self, raw_name: str, raw_category: str) -> set[str]:
        found, by_name, undecided = self.keyword_decisions(raw_name, raw_category)
        similarity = self.similarity if by_name or undecided else None
        if similarity is not None and (by_name | undecided) & similarity.terms:
            self._second_opinion(found, by_name, undecided, raw_name, raw_category)
        return found

    def keyword_decisions(self, name: str, category: str) -> tuple[set[str], set[str], set[str]]:
        """What the keywords say of a page: the terms found, those of them found by the page's
        name alone (a second opinion may overrule them), and the terms nothing decided."""
        name, category = _normal(name), _normal(category)
        found: set[str] = set()
        by_name: set[str] = set()
        undecided: set[str] = set()
        for interest, term in self._terms.items():
            if category in term.not_for_categories:
                continue
            if interest == name or term.said_by(category):
                found.add(interest)
            elif term.said_by(name, category):
                found.add(interest)
                # A bare "Strava" has no words to read a sense in, and a proper name (a brand,
                # a race) has one sense: only generic words ("running", "marathon") are asked.
                if not term.is_all_of(name) and not term.names_one(name):
                    by_name.add(interest)
            elif not term.excluded(name):  # an exclusion decides "no" as keywords decide "yes"
                undecided.add(interest)
        return found, by_name, undecided

    def keyword_mentions(self, name: str, category: str) -> set[str]:
        """The terms whose keywords a page's name holds, whether or not an exclusion or its
        category then rules them out: the examples the sense score reads ("running my own
        business" teaches what "running a bakery" means)."""
        name, category = _normal(name), _normal(category)
        return {
            interest
            for interest, term in self._terms.items()
            if interest != name and not term.said_by(category) and term.mentioned_in(name, category)
        }

    def _second_opinion(
        self, found: set[str], by_name: set[str], undecided: set[str], name: str, category: str
    ) -> None:
        assert self.similarity is not None
        opinions = self.similarity.opinions(name, category)
        if opinions is None:  # no encoder: keywords only
            return
        for interest, opinion in opinions.items():
            limits = self.similarity.thresholds[interest]
            if interest in undecided and opinion.score >= limits.give_at:
                found.add(interest)
            elif interest in by_name and opinion.sense < limits.keep_at:
                found.discard(interest)

    def _implied(self, found: set[str]) -> frozenset[str]:
        pending = list(found)
        while pending:
            for implied in self._terms[pending.pop()].implies:
                if implied in self._terms and implied not in found:
                    found.add(implied)
                    pending.append(implied)
        return frozenset(found)

    @classmethod
    def load(cls, path: str | None = None, similarity: bool = True) -> "Taxonomy":
        """The taxonomy in ``path`` (default: the built-in one), with the built-in similarity
        fallback unless ``similarity`` is False (keywords only)."""
        return _load(path, similarity)


@cache
def _load(path: str | None, similarity: bool) -> Taxonomy:
    if path:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    else:
        raw = json.loads(
            resources.files("consumers.data").joinpath("interests.json").read_text("utf-8")
        )
    terms = _checked_terms(raw, path or "the built-in taxonomy")
    return Taxonomy(terms, Similarity.load if similarity else None)


LIST_FIELDS = ("keywords", "whole_names", "exclude", "not_for_page_categories", "implies")


def _words(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(word, str) for word in value)


def _checked_terms(raw: Any, where: str) -> dict[str, Any]:
    """The terms of a taxonomy document; ValueError saying what is wrong when it is not one (a
    list, a JSON lines file, a term that is neither a list of keywords nor an object of them)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object of terms, got a {type(raw).__name__}")
    terms = {k: v for k, v in raw.items() if not k.startswith("_")}
    if not terms:
        raise ValueError(f"{where}: no terms")
    for name, spec in terms.items():
        if _words(spec):
            continue
        if not isinstance(spec, dict):
            raise ValueError(
                f"{where}: term {name!r} must be a list of keywords or an object, "
                f"not a {type(spec).__name__}"
            )
        for field in LIST_FIELDS:
            if field in spec and not _words(spec[field]):
                raise ValueError(f"{where}: term {name!r}: {field} must be a list of words")
        for field in ("page_category_keywords", "names"):
            groups = spec.get(field, {})
            if not isinstance(groups, dict) or not all(map(_words, groups.values())):
                raise ValueError(f"{where}: term {name!r}: {field} must map a name to words")
    return terms


Page = tuple[str, str]  # a name and its category ("" when there is none)


def _pages(items: Any, name_key: str = "name", category_key: str = "") -> Iterable[Page]:
    """Pages from a list of strings or of objects (``{"name": ..., "category": ...}``)."""
    if isinstance(items, dict) and isinstance(items.get("data"), list):  # Graph API paging shape
        items = items["data"]
    if isinstance(items, str):
        items = [items]
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            yield item, ""
        elif isinstance(item, dict):
            name, category = item.get(name_key), item.get(category_key) if category_key else None
            name, category = (v if isinstance(v, str) else "" for v in (name, category))
            if name or category:
                yield name, category


def _provider_name(provider: Any) -> str:
    """A linked identity's provider as an interest source (``google-oauth2``); anything that is
    not a provider's name is just ``identity`` (sources are keywords in the profile, and a long
    one would make Elasticsearch refuse it)."""
    if isinstance(provider, str) and PROVIDER_NAME.fullmatch(provider):
        return provider
    return "identity"


def add_interests(found: Interests, texts: Iterable[str], source: str, taxonomy: Taxonomy) -> None:
    add_pages(found, ((text, "") for text in texts), source, taxonomy)


def add_pages(found: Interests, pages: Iterable[Page], source: str, taxonomy: Taxonomy) -> None:
    for name, category in pages:
        for interest in taxonomy.match_page(name, category):
            found.setdefault(interest, set()).add(source)


def interests_from(user: dict[str, Any], fullcontact: list[Blob], taxonomy: Taxonomy) -> Interests:
    found: Interests = {}
    add_pages(found, _pages(dig(user, "user_metadata", "interests")), "declared", taxonomy)
    add_pages(found, _pages(user.get("likes"), "name", "category"), "facebook", taxonomy)
    identities = user.get("identities")
    for identity in identities if isinstance(identities, list) else []:
        source = _provider_name(dig(identity, "provider"))
        likes = dig(identity, "profileData", "likes")
        add_pages(found, _pages(likes, "name", "category"), source, taxonomy)
    for blob in fullcontact:
        data = blob.data
        topics = _pages(dig(data, "digitalFootprint", "topics"), "value")
        interests = _pages(dig(data, "details", "interests"), "name", "category")
        add_pages(found, [*interests, *topics], "fullcontact", taxonomy)
    return found
