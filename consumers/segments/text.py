"""Words of a text the way Elasticsearch's ``standard`` analyzer finds them, for ``matches``.

The standard tokenizer splits on Unicode word boundaries (UAX #29) and the analyzer lower-cases
each character on its own (Java's ``Character.toLowerCase``: a final capital sigma becomes a plain
sigma, "İ" becomes "i"). This covers the part of UAX #29 that names and nicknames exercise: runs
of letters, digits and connectors such as "_", joined across "." and "'" between two letters or
two digits, across ":" and "·" between letters, and across "," and ";" between digits.
Ideographs, kana and emoji are words of their own. ``tests/integration/segments/test_text.py``
checks it against the real analyzer.
"""

import unicodedata
from functools import lru_cache

MAX_TOKEN_LENGTH = 255  # the standard tokenizer's default; longer words are cut into pieces

_MID_NUM_LET = frozenset(".'\u2018\u2019\u2024\ufe52\uff07\uff0e")
_MID_LETTER = frozenset(":\u00b7\u0387\u05f4\u2027\ufe13\ufe55\uff1a")
_MID_NUM = frozenset(
    ",;\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b"
)


@lru_cache(maxsize=4096)
def _kind(char: str) -> str:
    """letter, digit, ideograph, connector, extend (combining marks, formats) or other."""
    category = unicodedata.category(char)
    if category in ("Mn", "Mc", "Me", "Cf"):
        return "extend"
    if category == "Pc":
        return "connector"
    if category == "Nd":
        return "digit"
    if category[0] == "L" or category == "Nl":
        name = unicodedata.name(char, "")
        if name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA")):
            return "ideograph"
        return "katakana" if name.startswith("KATAKANA") else "letter"
    if category == "So" and ord(char) >= 0x1F000:
        return "ideograph"  # an emoji is a word of its own too
    return "other"


def _lower(char: str) -> str:
    lowered = char.lower()
    return lowered if len(lowered) == 1 else lowered[0]  # one character in, one out (Java)


def _joins(mid: str, before: str, after: str) -> bool:
    if not after:
        return False
    both = (_kind(before), _kind(after))
    if both == ("letter", "letter"):
        return mid in _MID_NUM_LET or mid in _MID_LETTER
    if both == ("digit", "digit"):
        return mid in _MID_NUM_LET or mid in _MID_NUM
    return False


def _emit(word: list[str], into: list[str]) -> None:
    if any(_kind(c) in ("letter", "digit", "ideograph", "katakana") for c in word):
        text = "".join(_lower(c) for c in word)
        into += [text[i : i + MAX_TOKEN_LENGTH] for i in range(0, len(text), MAX_TOKEN_LENGTH)]
    word.clear()


def _separate(before: str, kind: str) -> bool:
    """Do two word characters side by side belong to different words? Katakana and other
    letters or digits do; connectors ("_") join anything."""
    previous = _kind(before)
    if "connector" in (previous, kind):
        return False
    return (previous == "katakana") != (kind == "katakana")


def words(text: str) -> list[str]:
    """The tokens the standard analyzer makes of ``text``."""
    found: list[str] = []
    word: list[str] = []
    last = ""  # the word's last character that is not a combining mark ("" after a joiner)
    for position, char in enumerate(text):
        kind = _kind(char)
        if kind == "extend":  # belongs to the character before it
            if word:
                word.append(char)
            continue
        if word and _kind(word[0]) == "ideograph":
            _emit(word, found)  # an ideograph (with its marks) is a word of its own
        if kind == "ideograph":
            _emit(word, found)
            word.append(char)
            last = ""
        elif kind in ("letter", "digit", "connector", "katakana"):
            if word and last and _separate(last, kind):
                _emit(word, found)
            word.append(char)
            last = char
        elif word and last and _joins(char, last, _next_base(text, position + 1)):
            word.append(char)
            last = ""  # two joiners in a row end the word
        else:
            _emit(word, found)
            last = ""
    _emit(word, found)
    return found


def _next_base(text: str, start: int) -> str:
    for char in text[start:]:
        if _kind(char) != "extend":
            return char
    return ""
