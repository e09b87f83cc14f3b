"""What a stage says about each event it was given; the worker loop acts on it."""

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Outcome:
    kind: Literal["done", "retry", "park"]
    reason: str = ""


DONE = Outcome("done")


def retry(reason: str) -> Outcome:
    return Outcome("retry", reason)


def park(reason: str) -> Outcome:
    return Outcome("park", reason)
