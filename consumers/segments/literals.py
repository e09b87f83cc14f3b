"""The values conditions compare with, read with care: words (in the case they are stored, among
the values a field can have), numbers, durations and dates. Each problem is added to ``problems``
with its place, and a likely typo with the word probably meant.
"""

import contextlib
import difflib
import re
from datetime import date, datetime
from typing import Any

from consumers.segments.conditions import Duration, Scalar, Unit
from consumers.segments.fields import Field
from consumers.segments.located import Path, Problem
from consumers.segments.view import epoch_ms

_DURATION = re.compile(r"^\s*(\d+)\s*(h|hours?|d|days?|w|weeks?)\s*(?:ago)?\s*$", re.IGNORECASE)
_UNITS: dict[str, Unit] = {"h": "h", "d": "d", "w": "w"}


def suggestion(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for a likely typo of one of ``candidates``, else ``""``."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def read_scalar(field: Field, value: Any, path: Path, problems: list[Problem]) -> Scalar | None:
    """One value to compare ``field`` with: true/false, a whole number, or a word."""
    if field.kind == "boolean":
        if isinstance(value, bool):
            return value
        problems.append(Problem(path, f"{field.name} is true or false, not '{value}'"))
        return None
    if field.kind == "long":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        problems.append(Problem(path, f"{field.name} is a whole number, not '{value}'"))
        return None
    if isinstance(value, bool):
        said = str(value).lower()
        problems.append(
            Problem(path, f"{said} is read as a yes/no value: write '{said}' in quotes")
        )
        return None
    if isinstance(value, dict | list) or value is None or isinstance(value, date):
        example = field.known[0] if field.known else "some-value"
        problems.append(Problem(path, f"{field.name} expects a word such as '{example}'"))
        return None
    text = str(value)
    return text if _known(field, text, path, problems) else None


def _known(field: Field, text: str, path: Path, problems: list[Problem]) -> bool:
    """A word in the case the field is stored in, and among its values when they are known."""
    expected = text.lower() if field.case == "lower" else text.upper() if field.case else text
    if expected != text:
        problems.append(
            Problem(
                path, f"{field.name} values are stored in {field.case} case: write '{expected}'"
            )
        )
        return False
    if field.known and text not in field.known:
        hint = suggestion(text, field.known)
        if field.closed or hint:
            listed = f"; known: {', '.join(field.known)}" if field.closed else ""
            problems.append(Problem(path, f"{field.name} is never '{text}'{hint}{listed}"))
            return False
    return True


def number(value: Any, path: Path, problems: list[Problem], whole: bool) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(
            Problem(path, f"expects a {'whole ' if whole else ''}number, not '{value}'")
        )
        return None
    if whole and not isinstance(value, int):
        problems.append(Problem(path, f"expects a whole number, not '{value}'"))
        return None
    return value


def instant(value: Any, path: Path, problems: list[Problem]) -> int | None:
    """A date (midnight UTC) or a time, in epoch milliseconds."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value)
    found = epoch_ms(value) if isinstance(value, datetime | date) else None
    if found is None:
        problems.append(Problem(path, f"expects a date such as 2026-01-31, not '{value}'"))
    return found


def duration(value: Any, path: Path, problems: list[Problem]) -> Duration | None:
    """'7 days', '2 weeks', '12 hours' (or 7d, 2w, 12h)."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        unit_hint = " (give a unit: '7 days')" if isinstance(value, int) else ""
        example = "'7 days', '2 weeks' or '12 hours'"
        problems.append(
            Problem(path, f"{path[-1]} expects a duration such as {example}{unit_hint}")
        )
        return None
    return Duration(int(match[1]), _UNITS[match[2][0].lower()])


def durations(
    spec: dict[str, Any], path: Path, problems: list[Problem]
) -> tuple[Duration | None, Duration | None] | None:
    """``older_than`` and ``within`` of ``spec``, when they can both hold."""
    older = within = None
    if "older_than" in spec and not (
        older := duration(spec["older_than"], (*path, "older_than"), problems)
    ):
        return None
    if "within" in spec and not (within := duration(spec["within"], (*path, "within"), problems)):
        return None
    if older and within and older.delta >= within.delta:
        problems.append(
            Problem(path, f"older than {older} and within the last {within}: nothing is both")
        )
        return None
    return older, within
