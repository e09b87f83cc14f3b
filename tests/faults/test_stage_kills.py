"""Stages killed with SIGKILL at random points, several times during a stream, and started again
as a supervisor would: no draining, no goodbye. What a killed stage had not acked is redelivered
to its successor; nothing may be lost or counted twice."""

import random
import time

from tests.faults.pipeline import STAGES
from tests.faults.scenario import FaultRun

KILLS = 6


def test_stages_killed_at_random_points_lose_nothing_and_count_nothing_twice(
    fault_run: FaultRun,
) -> None:
    rng = random.Random()  # a different schedule every run: the suite samples, CI repeats
    fault_run.prepare()
    stages = fault_run.start_stages()
    publisher = fault_run.publish(rate=150)
    total = len(fault_run.workload.messages) if fault_run.workload else 0
    killed = []
    for number in range(KILLS):
        # Spread over the stream: the index stage twice as often (it is every event's path).
        publisher.wait_for(total * (number + 1) // (KILLS + 1))
        time.sleep(rng.uniform(0, 0.8))
        stage = rng.choice((*STAGES, "index"))
        stages.kill(stage)
        killed.append(stage)
        stages.start(stage)
    fault_run.conclude(
        f"SIGKILL x{KILLS} (random stages)", time.monotonic(), note=", ".join(killed)
    )
