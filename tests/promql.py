"""The metric names a PromQL expression reads: enough PromQL to check dashboards and alerts
against what the code exports (strings, label matchers, ranges, grouping clauses, function names
and keywords are not metric names)."""

import re

KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan", "atan2"}
)
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_VARIABLE = re.compile(r"\$\{?\w+\}?")
_NAME = re.compile(r"(?<![\w.:$])([A-Za-z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _VARIABLE.sub("", text)
    text = _GROUPING.sub("", text)
    return {
        name
        for name, call in _NAME.findall(text)
        if not call and name.lower() not in KEYWORDS and not re.fullmatch(r"\d\w*", name)
    }
