"""RabbitMQ restarted in the middle of the stream: a private node (the shared broker is everyone's)
stopped cleanly and started again on its data. Publishers and every stage lose their connections
and come back; quorum queues keep what they had confirmed."""

import time

from tests.faults.conftest import PrivateCluster
from tests.faults.scenario import FaultRun


def test_a_broker_restart_mid_stream_loses_nothing_and_counts_nothing_twice(
    fault_run: FaultRun, rabbitmq_solo: PrivateCluster
) -> None:
    fault_run.prepare(amqp_url=rabbitmq_solo.urls)
    fault_run.start_stages()
    publisher = fault_run.publish(rate=200)
    publisher.wait_for(len(fault_run.workload.messages) // 3 if fault_run.workload else 0)
    rabbitmq_solo("stop-node", "1")
    rabbitmq_solo("start-node", "1")
    back = time.monotonic()
    fault_run.conclude("RabbitMQ restarted", back)
