import io

import pytest

from consumers.segments.export import CsvSink, JsonlSink, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Zoë", "Zoë"),
        ("a=b", "a=b"),
    ],
)
def test_formula_cells_are_neutralised(value: str, expected: str) -> None:
    assert safe_cell(value) == expected


def test_csv_has_a_header_and_safe_cells() -> None:
    out = io.StringIO()
    CsvSink(out).write(
        {"user_id": "auth0|1", "name": "=cmd|' /C calc'!A0", "interests": ["running", "fitness"]}
    )
    header, row = out.getvalue().splitlines()
    assert header.startswith("user_id,email,name,")
    assert "'=cmd|" in row and "running;fitness" in row


def test_jsonl_rows_carry_id_email_and_name() -> None:
    out = io.StringIO()
    JsonlSink(out).write({"user_id": "u", "email": "e@x.io", "name": "N"})
    assert '"user_id":"u"' in out.getvalue() and '"email":"e@x.io"' in out.getvalue()
