"""What a stage says about a batch it was given; the worker loop acts on it.

Per event an ``Outcome`` (done, retry later, park), and the messages the stage wants published as
part of finishing the batch (``Emit``: derived events, findings). The worker publishes those with
confirms *before* it acks the batch, so a crash in between redelivers the batch instead of
losing them.
"""

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Emit:
    """One message to publish (persistent, mandatory, confirmed) before the batch is acked."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    type: str


@dataclass
class Handled:
    outcomes: list[Outcome]
    emits: list[Emit] = field(default_factory=list)
