"""The text ``authstream search`` matches a profile by, folded at index time. Pure.

Folding here (case, accents, punctuation) rather than in Elasticsearch works on every cluster:
the core distribution has no ``asciifolding`` filter (it lives in the analysis-common module), so
"chloe" would not find "Chloé" there. ``authstream search`` folds its query with the same
function, so both sides always agree; where the cluster does have the module, setup also gives the
field a folding analyzer (``consumers.store.folding``) so that accented queries typed in Kibana
match too.
"""

import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from consumers.profile.model import Profile

# Letters that do not decompose into a base letter plus accents, folded as Lucene's
# ASCIIFoldingFilter folds them (the common ones in names).
_NOT_DECOMPOSABLE = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "\u0131": "i",  # dotless i
    }
)
# Runs of letters and digits in any script; everything else (spaces, '@', '.', '-', '_') separates.
_WORD = re.compile(r"[^\W_]+")
# A query this long is a paste accident, not a search: keep the query cheap.
MAX_QUERY_WORDS = 8


def fold_words(text: str) -> list[str]:
    """Lower-case words without accents: ``"Chloé O'Brien"`` → ``["chloe", "o", "brien"]``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_NOT_DECOMPOSABLE))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(bare.casefold())


def query_words(text: str) -> list[str]:
    """The words of a search query, folded as the profiles were, at most ``MAX_QUERY_WORDS``."""
    return fold_words(text)[:MAX_QUERY_WORDS]


def _unique(words: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(words))


def search_text(profile: "Profile") -> str | None:
    """What a profile is found by: name, nickname, email, Twitter handle, location, interests."""
    return search_text_of(
        profile.name,
        profile.nickname,
        profile.email,
        profile.twitter_handle,
        profile.location,
        profile.interests,
    )


def search_text_of(
    name: str | None,
    nickname: str | None,
    email: str | None,
    twitter_handle: str | None,
    location: dict[str, Any] | None,
    interests: Iterable[str],
) -> str | None:
    place = location or {}
    named = [name or "", nickname or "", *(str(place.get(k) or "") for k in ("city", "region"))]
    parts: list[str] = [
        *named,
        email or "",
        twitter_handle or "",
        str(place.get("country_code") or ""),
        *interests,
    ]
    words = [word for part in parts for word in fold_words(part)]
    # "O'Brien", "Saint-Étienne": also as one word, so "obrien" is an exact match.
    words += [joined for part in named for joined in _joined(part)]
    return " ".join(_unique(words)) or None


def _joined(text: str) -> list[str]:
    """Words of a name written with apostrophes or hyphens, run together."""
    return ["".join(pieces) for chunk in text.split() if len(pieces := fold_words(chunk)) > 1]
