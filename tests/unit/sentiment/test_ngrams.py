"""The word and word-pair table: what counts as a gram, the evidence it gives, and why training
posts are scored out of fold."""

import numpy as np
import pytest

from consumers.sentiment.ngrams import (
    FOLDS,
    fit_table,
    fold_of,
    grams,
    out_of_fold,
    parse_table,
)

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2


def test_grams_are_lowercased_words_symbols_and_adjacent_pairs() -> None:
    found = grams("@InnovaShoes STILL no refund!! 😡")
    assert {"@", "@brand", "still", "no", "refund", "😡"} <= found
    assert {"still no", "no refund", "refund 😡", "@ @brand"} <= found
    assert "!" not in found and "refund !" not in found  # punctuation is dropped
    assert grams("") == set()


def test_the_evidence_points_the_way_the_training_posts_did() -> None:
    texts = ["still no refund", "still no reply", "love these shoes", "love the fit", "store hours"]
    labels = [NEGATIVE, NEGATIVE, POSITIVE, POSITIVE, NEUTRAL]
    table = fit_table(texts, labels)
    assert "still no" in table.log_likelihood  # seen twice
    assert "refund" not in table.log_likelihood  # seen once: not kept
    features = table.features(["still no shoes", "love it", "nothing known here"])
    assert features[0, 0] < 0 < features[1, 0]  # positive minus negative evidence
    np.testing.assert_array_equal(features[2], [0.0, 0.0])
    again = parse_table(table.document())
    np.testing.assert_allclose(again.features(["still no shoes"]), features[:1], atol=1e-3)
    with pytest.raises(ValueError, match="expected 3"):
        parse_table({"still": [0.0, 1.0]})


def test_out_of_fold_scores_come_from_tables_without_the_post() -> None:
    # "stellar" is said only by the posts of one fold, all positive: a table that has seen them
    # vouches for them; the tables that score them out of fold have never seen the word
    texts = [
        f"stellar post {n}"
        if fold_of(f"stellar post {n}") == 0
        else f"{('awful', 'fine')[n % 2]} {n}"
        for n in range(80)
    ]
    assert {fold_of(t) for t in texts} == set(range(FOLDS))
    labels = [NEGATIVE if t.startswith("awful") else POSITIVE for t in texts]
    zero = [i for i, t in enumerate(texts) if t.startswith("stellar")]
    assert len(zero) >= 5
    inside = fit_table(texts, labels).features(texts)
    outside = out_of_fold(texts, labels)
    assert (inside[zero, 0] > 0).all()
    np.testing.assert_array_equal(outside[zero], 0.0)
