from typing import Any

from consumers.people.search import EXACT, PREFIX, TYPO, search_query


def ways(query: dict[str, Any], word: int) -> list[tuple[float, str]]:
    found = query["bool"]["must"][word]["dis_max"]["queries"]
    return [
        (q["constant_score"]["boost"], next(iter(q["constant_score"]["filter"]))) for q in found
    ]


def test_every_word_must_match_exactly_by_prefix_or_within_typos() -> None:
    query = search_query("Chloé D")
    assert query is not None
    assert len(query["bool"]["must"]) == 2
    assert ways(query, 0) == [(EXACT, "match"), (PREFIX, "prefix"), (TYPO, "match")]
    assert query["bool"]["must"][0]["dis_max"]["queries"][1]["constant_score"]["filter"] == {
        "prefix": {"search": "chloe"}
    }
    # A single letter is no prefix worth expanding: it would match nearly everyone.
    assert ways(query, 1) == [(EXACT, "match"), (TYPO, "match")]


def test_nothing_to_search_for() -> None:
    assert search_query(" -- ") is None
