from datetime import date

import pytest

from consumers.core.errors import ConfigurationError
from consumers.segments.columns import (
    COLUMNS,
    DEFAULT_COLUMNS,
    _age,
    csv_text,
    parse_columns,
    row,
    source_fields,
)
from consumers.segments.export import ExportReport, consent_filter


def test_columns_are_parsed_and_checked() -> None:
    assert parse_columns(None) == DEFAULT_COLUMNS
    assert parse_columns(" user_id, age ,city,") == ("user_id", "age", "city")
    with pytest.raises(ConfigurationError, match=r"unknown column.*'shoe'.*known columns: user_id"):
        parse_columns("user_id,shoe")
    with pytest.raises(ConfigurationError, match="none given"):
        parse_columns(" , ")


def test_only_the_fields_the_columns_read_are_fetched() -> None:
    assert source_fields(["age", "birth_date", "city", "consent_at"]) == [
        "birth_date", "consent.at", "location.city",
    ]  # fmt: skip
    assert all(column.reads for column in COLUMNS.values())


def test_rows_read_nested_fields_and_keep_types() -> None:
    profile = {
        "user_id": "u",
        "location": {"city": "Zürich"},
        "interests": ["a", "b"],
        "returned": False,
        "consent": {"state": "granted"},
    }
    assert row(profile, ["city", "interests", "returned", "country_code", "consent_source"]) == {
        "city": "Zürich", "interests": ["a", "b"], "returned": False,
        "country_code": None, "consent_source": None,
    }  # fmt: skip
    assert [csv_text(v) for v in (["a", "b"], False, None, 3.5)] == ["a;b", "false", "", "3.5"]


@pytest.mark.parametrize(
    ("born", "age"), [("1990-11-30", 36), ("1990-12-01", 35), ("nope", None), (None, None)]
)
def test_age_is_computed_on_the_day_of_the_export(born: str | None, age: int | None) -> None:
    assert _age({"birth_date": born}, date(2026, 11, 30)) == age


def test_consent_policies_and_what_the_report_says() -> None:
    assert consent_filter("opt-in") == {"term": {"marketing_consent": "granted"}}
    assert consent_filter("opt-out") == {
        "bool": {"must_not": [{"term": {"marketing_consent": "refused"}}]}
    }
    report = ExportReport("opt-out", matched=5, exported=4, left_out={"refused marketing": 1})
    assert report.summary("men", " to men.csv") == (
        "exported 4 of 5 member(s) of men to men.csv; 1 left out (refused marketing); "
        "consent policy opt-out"
    )
    assert ExportReport("opt-in", 2, 2).summary("x") == (
        "exported 2 of 2 member(s) of x; consent policy opt-in"
    )
