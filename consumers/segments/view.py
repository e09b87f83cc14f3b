"""A profile's values as Elasticsearch indexes them, so the in-process evaluator compares what a
query would compare.

- keywords longer than ``ignore_above`` (512 UTF-16 code units) are not indexed: absent here too;
- dates are compared as epoch milliseconds (Elasticsearch keeps no finer precision), a bare date
  as its midnight UTC;
- ``float`` fields hold 32-bit floats, with -0.0 ordered just below +0.0 (as Lucene orders them);
- text is the set of words the standard analyzer makes of it.

``view_of`` reads only the fields the loaded segments use, once per profile, whatever the number
of segments.
"""

import math
import struct
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from consumers.profile.model import Profile
from consumers.segments.fields import FIELDS, Field
from consumers.segments.text import words

IGNORE_ABOVE = 512  # consumers.store.layout: every keyword field
# Between the largest negative float32 (-1.4e-45) and zero: where Lucene puts -0.0.
_NEGATIVE_ZERO = -7e-46

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
View = dict[str, Any]
BEHAVIORS = "behaviors"  # view key of the nested (action, count, last_at ms) triples


def keyword(value: Any) -> str | None:
    """The indexed form of one keyword value, or None when it is not indexed."""
    if value is None or isinstance(value, dict | list):
        return None
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    # Java counts UTF-16 code units; only long strings can be over.
    if len(text) * 2 > IGNORE_ABOVE and len(text.encode("utf-16-le")) // 2 > IGNORE_ABOVE:
        return None
    return text


def keywords(values: Any) -> frozenset[str]:
    items = values if isinstance(values, list | tuple | set | frozenset) else [values]
    return frozenset(k for v in items if (k := keyword(v)) is not None)


def float32(value: float) -> float:
    """``value`` rounded to a float32, on a line where -0.0 < +0.0."""
    rounded: float = struct.unpack("f", struct.pack("f", value))[0]
    if rounded == 0 and math.copysign(1.0, rounded) < 0:
        return _NEGATIVE_ZERO
    return rounded


def number(value: Any, kind: str) -> float | int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        parsed = float(value) if kind == "float" else int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    if kind == "float":
        return float32(parsed) if math.isfinite(parsed) else None
    return parsed


def epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch, rounded down (as ``Instant.toEpochMilli``); exact integer
    arithmetic, because float timestamps can be a microsecond off."""
    if isinstance(value, datetime):
        delta = (value if value.tzinfo else value.replace(tzinfo=UTC)) - EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, date):
        return (value - EPOCH.date()).days * 86_400_000
    if isinstance(value, str):
        try:
            return epoch_ms(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _reader(field: Field) -> Callable[[Profile], Any]:
    read = field.read
    if field.kind == "keyword":
        return lambda p: keyword(read(p))
    if field.kind == "keywords":
        return lambda p: keywords(read(p) or [])
    if field.kind == "boolean":
        return lambda p: v if isinstance(v := read(p), bool) else None
    if field.kind in ("long", "float"):
        kind = field.kind
        return lambda p: number(read(p), kind)
    if field.kind == "date":
        return lambda p: epoch_ms(read(p))
    # A text field's own entry says whether it is there: any string is, even one without words.
    return lambda p: True if isinstance(read(p), str) else None


def readers(keys: Iterable[str]) -> dict[str, Callable[[Profile], Any]]:
    """For each view key a segment uses: how to read it from a profile.

    Keys are field names; a text field also has ``<name>.words`` (its analysed words) and
    ``<name>.keyword`` (its exact value); ``behaviors`` is the nested behaviour counts."""
    found: dict[str, Callable[[Profile], Any]] = {}
    for key in keys:
        if key == BEHAVIORS:
            found[key] = _behaviors
        elif key.endswith(".words"):
            found[key] = _words_of(FIELDS[key.removesuffix(".words")].read)
        elif key.endswith(".keyword"):
            found[key] = _keyword_of(FIELDS[key.removesuffix(".keyword")].read)
        else:
            found[key] = _reader(FIELDS[key])
    return found


def _words_of(read: Callable[[Profile], Any]) -> Callable[[Profile], frozenset[str]]:
    def analysed(profile: Profile) -> frozenset[str]:
        text = read(profile)
        return frozenset(words(text)) if isinstance(text, str) else frozenset()

    return analysed


def _keyword_of(read: Callable[[Profile], Any]) -> Callable[[Profile], str | None]:
    return lambda profile: keyword(read(profile))


def _behaviors(profile: Profile) -> tuple[tuple[str | None, float | None, int | None], ...]:
    return tuple(
        (keyword(b.action), number(b.count, "long"), epoch_ms(b.last_at)) for b in profile.behaviors
    )


def view_of(profile: Profile, using: dict[str, Callable[[Profile], Any]]) -> View:
    return {key: read(profile) for key, read in using.items()}
