"""Segment definition files: one YAML file per segment in a directory, checked with care.

``AUTHSTREAM_SEGMENTS_DIR`` names the directory (the built-in three ship in the package and are
used when it is unset: ``authstream segments init DIR`` copies them out to start from). A file::

    # preorder-running-men.yaml (the file name is the segment's name)
    description: men aged $min_age-$max_age interested in fitness, ...
    parameters: {min_age: 20, max_age: 40}
    where:
      all:
        - gender: male
        - age: {min: $min_age, max: $max_age}
    destinations:
      - webhook: https://mail.example.com/hooks/authstream
        secret_env: PREORDER_WEBHOOK_SECRET      # the secret itself stays in the environment
        events: [entered]

Every problem in every file is reported at once, as ``file:line: what (did you mean ...?)``.
"""

import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consumers.core.errors import ConfigurationError
from consumers.segments.literals import suggestion
from consumers.segments.located import Problem, read_yaml
from consumers.segments.parse import ConditionParser
from consumers.segments.segment import TRANSITIONS, Destination, Parameter, Segment, substitute

SUFFIXES = (".yaml", ".yml")
TOP_KEYS = ("name", "description", "parameters", "where", "destinations")
DESTINATION_KEYS = ("webhook", "secret_env", "events", "name")
SECRET_KEYS = ("secret", "token", "password", "api_key", "key")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
PARAMETER_NAME = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class FileProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class InvalidDefinitions(ConfigurationError):
    """Segment definitions that cannot be used; the message lists every problem."""

    def __init__(self, where: str, problems: list[FileProblem]) -> None:
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid segment definitions in {where}:\n{listed}")


def built_in() -> Traversable:
    return resources.files("consumers.data").joinpath("segments")


def definition_files(directory: Traversable) -> list[Traversable]:
    return sorted(
        (f for f in directory.iterdir() if f.name.endswith(SUFFIXES) and f.name[0] not in "._"),
        key=lambda f: f.name,
    )


def check_directory(directory: Path | None) -> tuple[dict[str, Segment], list[FileProblem]]:
    """Every segment defined in ``directory`` (the built-in ones when None), and the problems."""
    where: Traversable = built_in() if directory is None else directory
    if directory is not None and not directory.is_dir():
        return {}, [FileProblem(str(directory), 1, "no such directory")]
    files = definition_files(where)
    if not files:
        return {}, [FileProblem(str(where), 1, "no segment definitions (*.yaml files) here")]
    segments: dict[str, Segment] = {}
    problems: list[FileProblem] = []
    for file in files:
        segment, found = read_definition(file.read_text("utf-8"), str(file), _stem(file.name))
        problems += found
        if segment is not None and segment.name in segments:
            other = segments[segment.name].source
            problems.append(FileProblem(str(file), 1, f"segment {segment.name} is also in {other}"))
        elif segment is not None:
            segments[segment.name] = segment
    return segments, problems


def load_directory(directory: Path | None) -> dict[str, Segment]:
    """The segments, or ``InvalidDefinitions`` naming every problem."""
    segments, problems = check_directory(directory)
    if problems:
        raise InvalidDefinitions(str(directory or built_in()), problems)
    return segments


def _stem(file_name: str) -> str:
    for suffix in SUFFIXES:
        file_name = file_name.removesuffix(suffix)
    return file_name


def read_definition(text: str, file: str, stem: str) -> tuple[Segment | None, list[FileProblem]]:
    located, yaml_problems = read_yaml(text)
    problems: list[Problem] = list(yaml_problems)
    segment = None
    if located.data is not None:
        segment = _definition(located.data, stem, file, problems)
    found = [FileProblem(file, p.line or located.line(p.path), p.message) for p in problems]
    return (segment if not found else None), sorted(found, key=lambda p: p.line)


def _definition(data: Any, stem: str, file: str, problems: list[Problem]) -> Segment | None:
    if not isinstance(data, dict):
        problems.append(Problem((), "a segment file is a mapping with `where:` and more"))
        return None
    for key in data:
        if key not in TOP_KEYS:
            problems.append(Problem((key,), f"unknown key '{key}'{suggestion(key, TOP_KEYS)}"))
    name = data.get("name", stem)
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(Problem(("name",), f"'{name}' cannot name a segment: use a-z, 0-9 and '-'"))
    elif name != stem:
        problems.append(
            Problem(
                ("name",),
                f"the name '{name}' differs from the file name: rename the file to {name}.yaml",
            )
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(Problem(("description",), "description is a sentence"))
    parameters = _parameters(data.get("parameters", {}), problems)
    if "where" not in data:
        problems.append(Problem((), "no `where:` condition: who belongs to the segment?"))
    else:
        before = len(problems)
        where = substitute(data["where"], parameters, ("where",), problems)
        unresolved = {p.path for p in problems[before:]}
        parser = ConditionParser()
        parser.parse(where, ("where",))
        # Where a $parameter is unknown, that is the problem to report, not what follows from it.
        problems += [p for p in parser.problems if p.path not in unresolved]
    substitute(description, parameters, ("description",), problems)
    destinations = _destinations(data.get("destinations", []), str(name), problems)
    if problems:
        return None
    return Segment(str(name), str(description), data["where"], parameters, destinations, file)


def _parameters(node: Any, problems: list[Problem]) -> dict[str, Parameter]:
    if not isinstance(node, dict):
        problems.append(Problem(("parameters",), "parameters is a mapping such as {days: 7}"))
        return {}
    found: dict[str, Parameter] = {}
    for name, value in node.items():
        where = ("parameters", name)
        if not PARAMETER_NAME.match(name):
            problems.append(Problem(where, f"'{name}' cannot name a parameter"))
        elif isinstance(value, bool) or not isinstance(value, int | str):
            problems.append(Problem(where, f"parameter {name} is a number or a word"))
        else:
            found[name] = value
    return found


def _destinations(node: Any, segment: str, problems: list[Problem]) -> tuple[Destination, ...]:
    if not isinstance(node, list):
        problems.append(Problem(("destinations",), "destinations is a list of webhooks"))
        return ()
    found: list[Destination] = []
    for n, entry in enumerate(node):
        destination = _destination(entry, segment, n, problems)
        if destination and any(d.name == destination.name for d in found):
            problems.append(
                Problem(("destinations", n), f"two destinations are named {destination.name}")
            )
        elif destination:
            found.append(destination)
    return tuple(found)


def _destination(entry: Any, segment: str, n: int, problems: list[Problem]) -> Destination | None:
    path = ("destinations", n)
    if not isinstance(entry, dict):
        problems.append(Problem(path, "a destination is a mapping with `webhook:` and more"))
        return None
    before = len(problems)
    for key in entry:
        if key in SECRET_KEYS:
            problems.append(
                Problem(
                    (*path, key),
                    "secrets never go in a segment file: put the secret in an environment "
                    "variable and name the variable with `secret_env:`",
                )
            )
        elif key not in DESTINATION_KEYS:
            hint = suggestion(key, DESTINATION_KEYS)
            problems.append(Problem((*path, key), f"unknown key '{key}'{hint}"))
    url = entry.get("webhook")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(Problem((*path, "webhook"), "webhook expects an https:// URL"))
    elif parts.password is not None or parts.username is not None:
        problems.append(Problem((*path, "webhook"), "no credentials in the URL: use `secret_env:`"))
    secret_env = entry.get("secret_env")
    if not isinstance(secret_env, str) or not ENV_NAME.match(secret_env):
        problems.append(
            Problem(
                (*path, "secret_env"),
                "secret_env names the environment variable that holds the signing secret, "
                "such as PREORDER_WEBHOOK_SECRET",
            )
        )
    events = entry.get("events", list(TRANSITIONS))
    events = events if isinstance(events, list) else [events]
    for event in events:
        if event not in TRANSITIONS:
            hint = suggestion(str(event), TRANSITIONS)
            problems.append(
                Problem((*path, "events"), f"events are entered and/or left, not '{event}'{hint}")
            )
    name = entry.get("name", f"webhook-{n + 1}")
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(Problem((*path, "name"), f"'{name}' cannot name a destination"))
    if len(problems) > before:
        return None
    return Destination(segment, name, str(url), str(secret_env), tuple(dict.fromkeys(events)))
