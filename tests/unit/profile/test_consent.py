from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.profile.facts.consent import (
    CONSENT_FIELDS,
    UNKNOWN,
    Consent,
    merge_consent,
    read_consent,
    stated_consent,
)
from consumers.profile.facts.sources import dig

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "value", [True, "true", "TRUE", "yes", "Y", 1, "1", "granted", "opt-in", "opted_in", " on "]
)
def test_the_usual_spellings_of_yes_grant(value: object) -> None:
    assert read_consent(value) == "granted"


@pytest.mark.parametrize(
    "value",
    [False, "false", "False", "no", "N", 0, "0", "refused", "denied", "opt-out", "unsubscribed"],
)
def test_the_usual_spellings_of_no_refuse(value: object) -> None:
    assert read_consent(value) == "refused"


@pytest.mark.parametrize("value", [None, "", "maybe", 2, 0.5, [], {}])
def test_anything_else_says_nothing(value: object) -> None:
    assert read_consent(value) is None


def test_a_refusal_in_any_field_wins_over_a_grant_in_another() -> None:
    user = {"app_metadata": {"marketing_consent": "yes"}, "user_metadata": {"marketing_opt_in": 0}}
    assert stated_consent(user) == ("refused", "user_metadata.marketing_opt_in")
    assert stated_consent({"user_metadata": {"marketing_consent": "granted"}}) == (
        "granted",
        "user_metadata.marketing_consent",
    )
    assert stated_consent({"name": "sparse update"}) is None


def test_a_refusal_holds_until_an_explicit_later_grant() -> None:
    refused = merge_consent(UNKNOWN, "refused", "auth0-action: app_metadata", T2)
    assert merge_consent(refused, "granted", "older", T1) == refused  # an older grant, replayed
    assert merge_consent(refused, "granted", "same time", T2) == refused  # a tie: refusal wins
    later = merge_consent(refused, "granted", "auth0-action: app_metadata", T2.replace(month=3))
    assert later.state == "granted" and later.source == "auth0-action: app_metadata"


def test_consent_remembers_its_source_and_date() -> None:
    consent = merge_consent(UNKNOWN, "granted", "app: user_metadata.marketing_opt_in", T1)
    assert consent == Consent("granted", "app: user_metadata.marketing_opt_in", T1)
    assert consent.document()["at"] == T1.isoformat()


def test_two_statements_of_one_instant_give_one_answer_in_either_order() -> None:
    """Found by fuzzing: two grants of the same instant kept the source of whichever came last."""
    first = ("granted", "auth0-action: app_metadata.marketing_consent", T1)
    second = ("granted", "app: user_metadata.marketing_opt_in", T1)
    one_way = merge_consent(merge_consent(UNKNOWN, *first), *second)
    other_way = merge_consent(merge_consent(UNKNOWN, *second), *first)
    assert one_way == other_way


def reference_statement(user: dict[str, Any]) -> tuple[str, str] | None:
    """``stated_consent`` as it was first written (every field read by its dotted path)."""
    statements = [
        (state, field)
        for field in CONSENT_FIELDS
        if (state := read_consent(dig(user, *field.split(".")))) is not None
    ]
    refusal = next((s for s in statements if s[0] == "refused"), None)
    return refusal or (statements[0] if statements else None)


consent_values = st.sampled_from([True, False, 1, 0, "yes", "no", "opt-out", "maybe", None, {}])
metadata = (
    st.none()
    | st.just("text")
    | st.dictionaries(
        st.sampled_from(["marketing_consent", "marketing_opt_in", "other"]), consent_values
    )
)


@given(st.dictionaries(st.sampled_from(["app_metadata", "user_metadata", "name"]), metadata))
def test_the_statement_is_read_as_by_the_dotted_paths(user: dict[str, Any]) -> None:
    assert stated_consent(user) == reference_statement(user)
