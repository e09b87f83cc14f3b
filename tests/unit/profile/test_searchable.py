from consumers.profile.model import Profile
from consumers.profile.searchable import MAX_QUERY_WORDS, fold_words, query_words, search_text


def test_folding_removes_case_accents_and_punctuation() -> None:
    assert fold_words("Chloé O'Brien") == ["chloe", "o", "brien"]
    assert fold_words("ZOË Müller-Łukasz") == ["zoe", "muller", "lukasz"]
    assert fold_words("Straße, Søren, Æsa, Œuvre, Đorđe") == [
        "strasse", "soren", "aesa", "oeuvre", "dorde",
    ]  # fmt: skip
    assert fold_words("chloe.dubois+news@Example.com") == [
        "chloe", "dubois", "news", "example", "com",
    ]  # fmt: skip
    assert fold_words("\uff46\uff55\uff4c\uff4c") == ["full"]  # full-width compatibility forms
    assert fold_words("田中 Hiro_T") == ["田中", "hiro", "t"]  # other scripts stay, "_" splits
    assert fold_words("  !? ") == []


def test_a_query_is_folded_the_same_way_and_capped() -> None:
    assert query_words("CHLOÉ dubois") == ["chloe", "dubois"]
    assert len(query_words(" ".join(["word"] * 50))) == MAX_QUERY_WORDS


def test_search_text_holds_every_searchable_fact_once() -> None:
    profile = Profile(
        user_id="facebook|1",
        name="Chloé Dubois",
        nickname="chloe",
        email="chloe.dubois@example.com",
        twitter_handle="chloe_d",
        location={"city": "Saint-Étienne", "country_code": "FR", "point": {"lat": 1, "lon": 2}},
        interests=["fitness", "running"],
        gender="female",
    )
    assert search_text(profile) == (
        "chloe dubois saint etienne example com d fr fitness running saintetienne"
    )
    assert search_text(Profile(user_id="auth0|2")) is None
    assert search_text(Profile(user_id="auth0|3", name="Zoë O'Brien")) == "zoe o brien obrien"
