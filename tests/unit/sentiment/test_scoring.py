"""Mention scoring and the per-user summary: thresholds, negation, emoji, lexicon, summary rules."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.sentiment import scoring
from consumers.sentiment.scoring import (
    Mention,
    MentionScore,
    MentionScorer,
    label_for,
    load_brand_lexicon,
    parse_brand_lexicon,
    prepare_text,
    score_mention,
    score_plain,
    shared_scorer,
    summarise,
)

DAY = timedelta(days=1)
T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


# --- thresholds ------------------------------------------------------------------------------
def test_thresholds_are_vaders_published_ones_and_boundaries_are_included() -> None:
    assert (scoring.NEGATIVE_THRESHOLD, scoring.POSITIVE_THRESHOLD) == (-0.05, 0.05)
    assert label_for(0.05) == "positive"
    assert label_for(0.0499) == "neutral"
    assert label_for(0.0) == "neutral"
    assert label_for(-0.0499) == "neutral"
    assert label_for(-0.05) == "negative"
    assert label_for(1.0) == "positive"
    assert label_for(-1.0) == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "@InnovaShoes",
        "BEST SHOES EVER!!!! 😍😍😍🔥🔥 love love love",
        "worst worst worst, fell apart, blisters, still waiting, no refund 😡😡😡 👎👎",
    ],
)
def test_compound_is_in_range_and_label_follows_it(text: str) -> None:
    for score in (score_mention(text), score_plain(text)):
        assert -1.0 <= score.compound <= 1.0
        assert score.label == label_for(score.compound)


# --- negation, phrases, emoji ----------------------------------------------------------------
def test_negation_flips_brand_words_and_phrases() -> None:
    assert score_mention("These shoes are comfy").label == "positive"
    assert score_mention("These shoes are not comfy").label == "negative"
    assert score_mention("They fit true to size").label == "positive"
    assert score_mention("They are not true to size at all").label == "negative"
    assert score_mention("Not a single blister after 30k").label == "positive"


def test_curly_apostrophes_negate_like_straight_ones() -> None:
    curly = score_mention("I don\u2019t love the new colour")
    assert curly == score_mention("I don't love the new colour")
    assert curly.label == "negative"


def test_brand_phrases_turn_neutral_complaints_negative() -> None:
    text = "@InnovaShoes my sole fell apart, still waiting for a reply"
    assert score_plain(text).label != "negative"
    assert score_mention(text).label == "negative"


def test_phrases_match_whole_words_in_any_case_and_spacing() -> None:
    lexicon = load_brand_lexicon()
    assert "brandlex_fell_apart" in prepare_text("they FELL   Apart", lexicon)
    assert "brandlex_" not in prepare_text("he fell apartment hunting", lexicon)


def test_emoji_carry_valence_vader_reads_as_neutral_or_wrong() -> None:
    angry = "@InnovaShoes where are my shoes 😡"
    assert score_plain(angry).label == "neutral"  # VADER reads "pouting face"
    assert score_mention(angry).label == "negative"
    fire = "Morning run in my @InnovaShoes 🔥"
    assert score_plain(fire).label == "negative"  # VADER reads "fire"
    assert score_mention(fire).label == "positive"
    # with or without the emoji variation selector U+FE0F
    assert score_mention("👎\ufe0f").compound == score_mention("👎").compound < 0


def test_a_question_asks_but_a_complaint_in_question_form_stays_negative() -> None:
    assert score_mention("@InnovaShoes is the Pace good for trail?").label == "neutral"
    assert score_mention("Is size 9.5 better for wide feet?").label == "neutral"
    assert score_mention("Why is my refund so slow? Terrible service.").label == "negative"
    assert score_mention("Why do my shoes fall apart after a month?").label == "negative"
    assert score_plain("@InnovaShoes is the Pace good for trail?").label == "positive"


# --- the lexicon is data, loaded once ---------------------------------------------------------
def test_packaged_lexicon_is_data_and_within_vaders_scale() -> None:
    path = Path(scoring.__file__).parent.parent / "data" / "brand_lexicon.json"
    data = json.loads(path.read_text("utf-8"))
    assert {"words", "phrases", "emoji"} <= data.keys()
    for section in ("words", "phrases", "emoji"):
        assert data[section], section
        assert all(-4 <= value <= 4 for value in data[section].values())
    lexicon = load_brand_lexicon()
    assert lexicon.valences["comfy"] == data["words"]["comfy"]
    assert lexicon.valences["brandlex_fell_apart"] == data["phrases"]["fell apart"]


def test_lexicon_and_analysers_are_built_once_and_kept_apart() -> None:
    assert load_brand_lexicon() is load_brand_lexicon()
    assert shared_scorer(True) is shared_scorer(True)
    assert shared_scorer(False) is not shared_scorer(True)
    brand = shared_scorer(True)._analyser.lexicon
    plain = shared_scorer(False)._analyser.lexicon
    assert brand["comfy"] > 0
    assert "comfy" not in plain  # merging did not leak into the plain analyser
    assert plain["fire"] < 0 < brand["fire"]


def test_lexicon_from_a_file_is_merged_into_a_new_scorer(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.json"
    path.write_text(json.dumps({"words": {"stride": 3.0}, "phrases": {"size up": -2.0}}))
    scorer = MentionScorer(load_brand_lexicon(path))
    assert scorer("the stride").label == "positive"
    assert scorer("had to size up").label == "negative"
    assert score_mention("the stride").label == "neutral"


@pytest.mark.parametrize(
    "document",
    [
        {"words": {"comfy": "very"}},
        {"words": {"comfy": True}},
        {"words": {"comfy": 4.5}},
        {"words": {"true to size": 1.0}},
        {"words": {"Comfy": 1.0}},
        {"phrases": {"comfy": 1.0}},
        {"emoji": {"ok": 1.0}},
        {"words": ["comfy"]},
    ],
)
def test_bad_lexicon_documents_are_refused(document: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="brand lexicon"):
        parse_brand_lexicon(document)


def test_longer_phrases_win_over_their_prefixes() -> None:
    lexicon = parse_brand_lexicon({"phrases": {"still no": -1.0, "still no refund": -3.0}})
    assert "brandlex_still_no_refund" in prepare_text("still no refund", lexicon)


# --- per-user summary ------------------------------------------------------------------------
def fake_scorer(text: str) -> MentionScore:
    """Texts are their own scores, so summary arithmetic is checked without VADER."""
    value = float(text)
    return MentionScore(value, label_for(value))


def mention(mention_id: str, compound: float, at: datetime) -> Mention:
    return Mention(mention_id, str(compound), at, f"https://x.com/a/status/{mention_id}")


def test_summary_is_the_same_for_any_order_and_any_duplicates() -> None:
    mentions = [
        mention("1", -0.8, T0),
        mention("2", 0.4, T0 + DAY),
        mention("3", -0.2, T0 + 2 * DAY),
        mention("4", 0.9, T0 + 3 * DAY),
    ]
    expected = summarise(mentions, scorer=fake_scorer)
    assert expected.count == 4
    for order in itertools.permutations(mentions):
        assert summarise(order, scorer=fake_scorer) == expected
    assert summarise(mentions + mentions[::-1] + [mentions[0]], scorer=fake_scorer) == expected


def test_duplicate_ids_with_different_copies_resolve_the_same_way_in_any_order() -> None:
    a = mention("1", -0.5, T0)
    b = mention("1", -0.9, T0)  # same id, a redelivered copy that differs
    other = mention("2", 0.1, T0 + DAY)
    one = summarise([a, b, other], scorer=fake_scorer)
    assert one == summarise([other, b, a], scorer=fake_scorer)
    assert one.count == 2


def test_mean_minimum_and_plain_aggregates() -> None:
    result = summarise(
        [mention("1", -0.6, T0), mention("2", 0.2, T0), mention("3", 0.1, T0)], scorer=fake_scorer
    )
    assert result.mean == pytest.approx(-0.1)
    assert result.recent_mean == pytest.approx(-0.1)  # same day: equal weights
    assert result.minimum == -0.6
    assert result.label == "negative"
    assert (result.first_at, result.last_at) == (T0, T0)


def test_evidence_is_the_three_most_negative_newest_first_on_ties() -> None:
    mentions = [
        mention("a", -0.9, T0),
        mention("b", -0.3, T0 + DAY),
        mention("c", -0.9, T0 + 2 * DAY),
        mention("d", 0.8, T0 + 3 * DAY),
        mention("e", -0.5, T0 + 4 * DAY),
        mention("f", -0.01, T0 + 5 * DAY),  # neutral: never evidence
    ]
    evidence = summarise(mentions, scorer=fake_scorer).evidence
    assert [e.id for e in evidence] == ["c", "a", "e"]
    assert evidence[0].url == "https://x.com/a/status/c"
    assert evidence[0].created_at == T0 + 2 * DAY
    assert evidence[0].text == "-0.9"


def test_no_evidence_when_nothing_was_negative() -> None:
    result = summarise([mention("1", 0.5, T0), mention("2", 0.0, T0)], scorer=fake_scorer)
    assert result.evidence == ()


def test_angry_last_month_happy_now_leaves_the_negative_label() -> None:
    angry = [mention(f"old{i}", -0.7, T0 + i * timedelta(hours=3)) for i in range(3)]
    happy = [mention(f"new{i}", 0.6, T0 + 35 * DAY + i * DAY) for i in range(2)]
    result = summarise(angry + happy, scorer=fake_scorer)
    assert result.mean < scoring.NEGATIVE_THRESHOLD  # the plain mean would still say negative
    assert result.label == "positive"
    assert result.minimum == -0.7
    assert len(result.evidence) == 3  # the old complaints stay visible as evidence
    # and the other way round: happy then angry becomes negative
    flipped = [mention(f"old{i}", 0.6, T0 + i * DAY) for i in range(3)]
    flipped += [mention("new", -0.7, T0 + 30 * DAY)]
    assert summarise(flipped, scorer=fake_scorer).label == "negative"


def test_naive_datetimes_are_taken_as_utc() -> None:
    aware = summarise([mention("1", -0.5, T0)], scorer=fake_scorer)
    naive = summarise([mention("1", -0.5, T0.replace(tzinfo=None))], scorer=fake_scorer)
    assert naive == aware


def test_summary_with_the_real_scorer_and_event_data() -> None:
    mentions = [
        Mention("10", "@InnovaShoes my sole fell apart after 3 weeks 😡", T0, "u10"),
        Mention("11", "@InnovaShoes still waiting for my refund", T0 + DAY, "u11"),
        Mention("12", "@InnovaShoes do you ship to Canada?", T0 + DAY, "u12"),
    ]
    result = summarise(mentions)
    assert result.label == "negative"
    assert [e.id for e in result.evidence] == ["10", "11"]
    data = result.as_event_data()
    assert data["label"] == "negative"
    assert data["mentions"] == 3
    assert data["score"] == round(result.recent_mean, 4)
    json.dumps(data)  # JSON-ready


def test_summarise_refuses_nothing() -> None:
    with pytest.raises(ValueError, match="at least one"):
        summarise([], scorer=fake_scorer)


def test_a_mention_that_carries_its_score_is_not_scored_again() -> None:
    def refuse(text: str) -> MentionScore:
        raise AssertionError(f"scored again: {text}")

    stored = [
        Mention("1", "anything", T0, score=-0.6),
        Mention("2", "at all", T0 + DAY, score=0.2),
    ]
    result = summarise(stored, scorer=refuse)
    assert result.minimum == -0.6
    assert [e.id for e in result.evidence] == ["1"]
    mixed = summarise([*stored, mention("3", -0.9, T0)], scorer=fake_scorer)
    assert mixed.minimum == -0.9
