"""Writing segment members as CSV (safe to open in a spreadsheet) or JSON lines."""

import csv
from typing import Any, TextIO

import orjson

COLUMNS = (
    "user_id",
    "email",
    "name",
    "gender",
    "birth_date",
    "interests",
    "twitter_handle",
    "country_code",
    "city",
    "signed_up_at",
    "last_login",
    "marketing_consent",
)

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formula injection (CSV injection) by prefixing a quote."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def row_of(profile: dict[str, Any]) -> dict[str, Any]:
    location = profile.get("location") or {}
    return {
        "user_id": profile.get("user_id"),
        "email": profile.get("email"),
        "name": profile.get("name"),
        "gender": profile.get("gender"),
        "birth_date": profile.get("birth_date"),
        "interests": ";".join(profile.get("interests") or []),
        "twitter_handle": profile.get("twitter_handle"),
        "country_code": location.get("country_code"),
        "city": location.get("city"),
        "signed_up_at": profile.get("signed_up_at"),
        "last_login": profile.get("last_login"),
        "marketing_consent": profile.get("marketing_consent"),
    }


class CsvSink:
    """CSV with a header row; every cell is formula-safe."""

    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out)
        self.writer.writerow(COLUMNS)

    def write(self, profile: dict[str, Any]) -> None:
        row = row_of(profile)
        self.writer.writerow(safe_cell("" if row[c] is None else str(row[c])) for c in COLUMNS)


class JsonlSink:
    """One JSON object per member, at least ``user_id``, ``email`` and ``name``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, profile: dict[str, Any]) -> None:
        self.out.write(orjson.dumps(row_of(profile)).decode() + "\n")


SINKS: dict[str, type[CsvSink] | type[JsonlSink]] = {"csv": CsvSink, "jsonl": JsonlSink}
