"""YAML read into plain Python values, remembering the line of every key and list item, so that a
problem found later ("unknown field", "min is greater than max") can name the line it is on.

Stricter than ``yaml.safe_load`` where a marketer's file is concerned: a key given twice is an
error (PyYAML would silently keep the last one), a file holds one document, and only ``true`` and
``false`` are booleans (YAML 1.2's rule: ``country: NO`` means Norway, not false).
"""

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

Path = tuple[str | int, ...]
_BOOL = "tag:yaml.org,2002:bool"


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without its yes/no/on/off booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Problem:
    """Something wrong at ``path`` in a file (``line`` when known, else from the path)."""

    path: Path
    message: str
    line: int | None = None


@dataclass
class Located:
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one (1-based)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1


class _Reader:
    def __init__(self) -> None:
        self.constructor = SafeConstructor()
        self.lines: dict[Path, int] = {}
        self.problems: list[Problem] = []

    def value(self, node: yaml.Node, path: Path) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                # Keys are names, even `true` or `1`.
                key = str(key).lower() if isinstance(key, bool) else str(key)
                line = key_node.start_mark.line + 1
                if key in mapping:
                    self.problems.append(
                        Problem((*path, key), f"'{key}' is given twice (keep one)", line)
                    )
                self.lines[(*path, key)] = line
                mapping[key] = self.value(value_node, (*path, key))
            return mapping
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, n)) for n, item in enumerate(node.value)]
        return self.constructor.construct_object(node, deep=True)


def read_yaml(text: str) -> tuple[Located, list[Problem]]:
    """The document in ``text`` with its lines, and what is wrong with it as YAML."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or exc.context or "not valid YAML"
        return Located(None), [Problem((), f"not valid YAML: {reason}", line)]
    except yaml.YAMLError as exc:
        return Located(None), [Problem((), f"not valid YAML: {exc}", 1)]
    if node is None:
        return Located(None), [Problem((), "the file is empty", 1)]
    reader = _Reader()
    try:
        data = reader.value(node, ())
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        return Located(None), [Problem((), f"not valid YAML: {exc.problem}", line)]
    return Located(data, reader.lines), reader.problems
