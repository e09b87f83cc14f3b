"""Keys a finding may carry into the profile document: the names Elasticsearch can take.

A finding's data (an enrichment answer, a sentiment summary) is folded into the profile as an
object, and Elasticsearch reads every key of it, mapped or not: one empty, blank or dotted name
(``""``, ``" "``, ``".x"``, ``"a..b"``) makes it refuse the whole profile document, so the
profile and every event folded with it would be parked. Such keys never come from our stages;
they are dropped at the fold, at every depth. Values under unindexed keys (a provider's raw
``response``, the sentiment ``evidence``) are kept as they are: Elasticsearch does not read them.
"""

from typing import Any


def indexable_name(key: str) -> bool:
    """A key Elasticsearch takes as a field name in an object without rewriting it (a dot would
    be read as a path, and a leading, trailing or doubled one is refused)."""
    return bool(key.strip()) and "." not in key


def indexable(value: Any, unindexed: frozenset[str] = frozenset()) -> Any:
    """``value`` without the object keys Elasticsearch would refuse; keys named in ``unindexed``
    (at the top level) keep their values untouched."""
    if isinstance(value, dict):
        return {
            key: item if key in unindexed else indexable(item)
            for key, item in value.items()
            if indexable_name(key)
        }
    if isinstance(value, list):
        return [indexable(item) for item in value]
    return value


# The findings' keys the users mapping keeps unindexed (``enabled: false`` in store/layout.py).
FINDING_UNINDEXED = frozenset({"response", "evidence"})
