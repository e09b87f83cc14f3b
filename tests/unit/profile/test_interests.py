"""The interest taxonomy: how it matches, and what it is worth on the labelled sets."""

from pathlib import Path

import pytest

from consumers.profile.facts.interests import Taxonomy, interests_from
from consumers.profile.facts.interests import _checked_terms as checked_terms
from consumers.profile.interest_evaluation import (
    LabelledRow,
    Target,
    evaluate,
    format_report,
    parse_labelled,
)
from tests.helpers import prerequisite_missing

DATA = Path(__file__).resolve().parents[2] / "data"
TAXONOMY = Taxonomy.load()
TARGETS = [Target("fitness", 0.9, 0.8), Target("running", 0.9, 0.8)]


def rows(name: str) -> list[LabelledRow]:
    with open(DATA / name, encoding="utf-8") as handle:
        return parse_labelled(handle, TAXONOMY.names)


@pytest.mark.parametrize(
    ("name", "category", "expected"),
    [
        ("Dog training", "", set()),  # the examples
        ("Nike Running Club", "Sports Club", {"running", "fitness"}),
        ("Sports Illustrated", "Magazine", set()),
        ("Nike", "Sportswear Store", set()),
        ("Running Man", "TV Show", set()),  # the category rules the name out
        ("Planet Fitness", "Gym/Physical Fitness Center", {"fitness"}),
        ("Ace Gym", "Gym/Physical Fitness Center", {"fitness"}),  # from the category alone
        ("Great North Run", "Sports Event", {"running", "fitness"}),  # "run" in an event
        ("Great North Run", "Movie", set()),
        ("New York Road Runners", "Sports Club", {"running", "fitness"}),
        ("Road Runner", "Fictional Character", set()),
    ],
)
def test_pages_are_read_with_their_category(name: str, category: str, expected: set[str]) -> None:
    assert TAXONOMY.match_page(name, category) == expected


def test_keywords_match_whole_words_plurals_and_separators() -> None:
    taxonomy = Taxonomy(
        {
            "running": {"keywords": ["marathon", "trail running"], "implies": ["fitness"]},
            "fitness": {"keywords": ["cross training"], "exclude": ["dog training"]},
            "cycling": ["bike"],  # the first format: a list of keywords
        }
    )
    assert taxonomy.match("Marathons") == {"running", "fitness"}
    assert taxonomy.match("Women > Shoes > Trail-Running") == {"running", "fitness"}
    assert taxonomy.match("Cross-Training & Gym") == {"fitness"}
    assert taxonomy.match("Bikerace") == set()
    assert taxonomy.match("cycling") == {"cycling"}  # a declared term by its own name
    excluded = Taxonomy({"fitness": {"keywords": ["training"], "exclude": ["dog training"]}})
    assert excluded.match("Dog Training Club") == set()
    assert excluded.match("Training club") == {"fitness"}


def test_names_are_keywords_and_whole_names_count_only_as_the_whole_text() -> None:
    taxonomy = Taxonomy(
        {
            "running": {
                "keywords": ["running"],
                "names": {"shoe brands": ["karhu"], "races": ["western states"]},
                "whole_names": ["rabbit"],
                "exclude": ["movie marathon", "running a business"],
                "implies": ["fitness"],
            },
            "fitness": [],
        }
    )
    assert taxonomy.match("Karhu Fusion 3") == {"running", "fitness"}
    assert taxonomy.match("Western States 100") == {"running", "fitness"}
    assert taxonomy.match("rabbit") == {"running", "fitness"}
    assert taxonomy.match_page("Rabbit Rescue Society", "Nonprofit Organization") == set()
    assert taxonomy.match("Movie marathons") == set()  # an exclusion also in the plural
    assert taxonomy.match("Running a businesses' club") == set()
    with pytest.raises(ValueError, match="names must map"):
        checked_terms({"running": {"names": ["karhu"]}}, "test")


def test_likes_pair_each_name_with_its_category() -> None:
    user = {
        "likes": [
            {"name": "Running Man", "category": "TV Show"},
            {"name": "Runner's World", "category": "Magazine"},
        ]
    }
    assert interests_from(user, [], TAXONOMY) == {
        "running": {"facebook"},
        "fitness": {"facebook"},
    }


def test_the_labelled_set_has_at_least_300_rows_of_every_kind() -> None:
    labelled = rows("interests_labelled.jsonl")
    assert len(labelled) >= 300
    assert {row.kind for row in labelled} == {"like", "declared", "product"}
    assert sum(row.split == "heldout" for row in labelled) >= 60


def test_the_targets_are_met_on_the_tune_and_held_out_rows() -> None:
    labelled = rows("interests_labelled.jsonl")
    for split in ("tune", "heldout"):
        scores = evaluate(labelled, TAXONOMY, split)
        for target in TARGETS:
            assert target.shortfall(scores[target.term]) is None, (split, target)


@pytest.mark.parametrize(
    ("name", "floors"),
    [
        # (fitness precision, recall), (running precision, recall): BENCHMARKS.md, interests
        # Third round, which tuned on their mistakes: fresh2 100% / 98.4%, 100% / 96.6%;
        # fresh3 100% / 100% for both.
        ("interests_fresh2.jsonl", ((0.99, 0.98), (0.99, 0.96))),
        ("interests_fresh3.jsonl", ((0.99, 0.99), (0.99, 0.99))),
    ],
)
def test_unseen_rows_keep_the_measured_figures(
    name: str, floors: tuple[tuple[float, float], tuple[float, float]]
) -> None:
    """The fresh sets were written after the taxonomy (fresh2) or before the similarity
    fallback (fresh3); the third round read and tuned on their mistakes, so they are tuning
    data now and no longer measure how interests generalise (BENCHMARKS.md). These are floors
    under the figures measured there, so a change to the
    keywords, the examples or the thresholds that makes unseen rows worse fails here. Without
    the sentence model the fallback is off and these figures are not reachable: skipped."""
    if TAXONOMY.similarity is None or not TAXONOMY.similarity.encoder_ready():
        prerequisite_missing("the similarity fallback is off (no sentence model or index)")
    scores = evaluate(rows(name), TAXONOMY, "all")
    for term, (precision, recall) in zip(("fitness", "running"), floors, strict=True):
        assert (scores[term].precision or 0) >= precision, term
        assert (scores[term].recall or 0) >= recall, term


# Sets written after the taxonomy was last tuned, by someone who did not see it. fresh2 and
# fresh3 were such sets until the third round tuned on their mistakes (they now meet the targets
# as tuning data: the floors above); the self-check set of that round was written by the same
# helper who then wrote the keywords, so it is not unseen in this sense (BENCHMARKS.md). fresh4
# was written by another helper who never opened the taxonomy, committed before the third round
# was merged, and evaluated once after it (fitness 96.9% / 84.1%, running 97.8% / 81.8%); its
# mistakes were never printed. Tuning on them would make it tuning data: write a new set first.
UNSEEN_SETS = ["interests_fresh4.jsonl"]


@pytest.mark.parametrize("name", UNSEEN_SETS)
def test_the_targets_on_unseen_rows(name: str) -> None:
    """Precision >= 90% at recall >= 80% for fitness and running on rows nobody tuned on. The
    keywords alone reach them on fresh4 too (96.8% / 80.5%, 97.8% / 81.8%), so this holds
    without the sentence model."""
    scores = evaluate(rows(name), TAXONOMY, "all")
    assert [t for t in TARGETS if t.shortfall(scores[t.term]) is not None] == []


def test_arithmetic_and_report_on_a_hand_made_set() -> None:
    taxonomy = Taxonomy({"fitness": ["gym"], "running": ["running"]})
    hand = [
        LabelledRow("declared", "gym", should=frozenset({"fitness"})),  # TP
        LabelledRow("declared", "gym class", should_not=frozenset({"fitness"})),  # FP
        LabelledRow("declared", "yoga", should=frozenset({"fitness"})),  # FN
        LabelledRow("declared", "gym bag", may=frozenset({"fitness"})),  # not counted
    ]
    fitness = evaluate(hand, taxonomy)["fitness"]
    assert (fitness.precision, fitness.recall) == (0.5, 0.5)
    assert fitness.mistakes == ["+fitness: declared 'gym class'", "-fitness: declared 'yoga'"]
    report = format_report(hand, taxonomy)
    assert report.splitlines()[0] == "4 labelled rows: " + (
        f"{sum(r.split == 'tune' for r in hand)} tune, "
        f"{sum(r.split == 'heldout' for r in hand)} held out"
    )
    assert Target.parse("fitness=0.9/0.8") == Target("fitness", 0.9, 0.8)
    assert Target("fitness", 0.9, 0.8).shortfall(fitness) == (
        "fitness: precision 50.0% < 90% (short by 40.0), recall 50.0% < 80% (short by 30.0)"
    )


def test_a_row_with_an_unknown_term_is_refused() -> None:
    with pytest.raises(ValueError, match="line 1: unknown term"):
        parse_labelled(['{"kind": "like", "text": "x", "should": ["knitting"]}'], TAXONOMY.names)
