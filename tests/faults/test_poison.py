"""1% poison in the stream, nothing else wrong: the baseline every other scenario adds a fault to.
Poison is parked with its reason and never holds up the valid events around it."""

import time

from tests.faults.scenario import FaultRun


def test_poison_is_parked_with_its_reason_and_every_valid_event_is_indexed_once(
    fault_run: FaultRun,
) -> None:
    fault_run.prepare()
    fault_run.start_stages()
    publisher = fault_run.publish(rate=300)
    publisher.finish()
    outcome = fault_run.conclude("1% poison messages", time.monotonic())
    assert outcome.poison >= 10  # about one in a hundred of ~2,300
