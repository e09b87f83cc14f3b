from datetime import date

import pytest

from consumers.people.explain import explain, segment_entries

TODAY = date(2026, 11, 30)


def profile(**extra: object) -> dict[str, object]:
    return {"user_id": "auth0|1", "name": "Ann", **extra}


@pytest.mark.parametrize(
    "stored",
    [
        [{"name": "vip", "entered_at": "2026-11-02T08:00:00Z"}, {"name": "churn-risk"}],
        {"vip": "2026-11-02T08:00:00Z", "churn-risk": None},
        {"vip": {"since": "2026-11-02T08:00:00Z"}, "churn-risk": {}},
        [{"segment": "vip", "at": "2026-11-02T08:00:00Z"}, "churn-risk"],
    ],
)
def test_segments_are_read_in_every_plausible_shape(stored: object) -> None:
    assert segment_entries(stored) == [("churn-risk", None), ("vip", "2026-11-02 08:00:00")]


def test_segments_show_entry_dates_when_recorded() -> None:
    text = explain(
        profile(segments=[{"name": "vip", "entered_at": "2026-11-02T08:00:00Z"}]),
        [],
        0,
        "opt-out",
        TODAY,
    )
    assert "Segments\n  vip  since 2026-11-02 08:00:00\n" in text
    assert "Segments\n  none\n" in explain(profile(segments=[]), [], 0, "opt-out", TODAY)
    assert "not recorded on this profile" in explain(profile(), [], 0, "opt-out", TODAY)


@pytest.mark.parametrize(
    ("birth", "precision", "shown"),
    [
        ("1990-12-01", "day", "1990-12-01 (age 35)"),
        ("1990-11-30", "day", "1990-11-30 (age 36)"),
        ("1996-07-01", "year", "born about 1996 (age about 30; estimated from a year)"),
    ],
)
def test_ages_follow_the_birth_date_and_its_precision(
    birth: str, precision: str, shown: str
) -> None:
    text = explain(
        profile(birth_date=birth, birth_date_precision=precision), [], 0, "opt-out", TODAY
    )
    assert f"birth date  {shown}  source not recorded" in text


@pytest.mark.parametrize(
    ("state", "policy", "verdict"),
    [
        ("granted", "opt-in", "included"),
        ("unknown", "opt-in", "left out"),
        ("unknown", "opt-out", "included"),
        ("refused", "opt-out", "left out"),
    ],
)
def test_consent_says_what_exports_do_with_it(state: str, policy: str, verdict: str) -> None:
    text = explain(profile(consent={"state": state}), [], 0, policy, TODAY)
    assert f"exports ({policy} policy): {verdict}" in text


def test_a_sparse_document_still_explains() -> None:
    text = explain({"user_id": "auth0|9"}, [], 0, "opt-out", TODAY)
    assert text.startswith("auth0|9\n")
    assert "Facts (source · field · day observed)\n  none yet" in text
    assert "unknown: never stated" in text
    assert text.endswith("Latest events (0 of 0)\n  none stored")
