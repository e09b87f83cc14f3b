"""Elasticsearch stopped for 30 s in the middle of the stream: a private cluster (the shared node
is everyone's), both nodes stopped and started again on their data. The index stage holds its
batch and backs off; nothing is parked, nothing acked before it is written."""

import time

from tests.faults.conftest import PrivateCluster
from tests.faults.scenario import FaultRun, wait_until

OUTAGE_S = 30


def test_elasticsearch_stopped_for_30_s_mid_stream_loses_nothing(
    fault_run: FaultRun, elasticsearch_cluster: PrivateCluster
) -> None:
    fault_run.prepare(elasticsearch_url=elasticsearch_cluster.urls)
    stages = fault_run.start_stages()
    publisher = fault_run.publish(rate=150)
    publisher.wait_for(len(fault_run.workload.messages) // 4 if fault_run.workload else 0)
    elasticsearch_cluster("stop")
    stopped = time.monotonic()
    wait_until(lambda: time.monotonic() - stopped >= OUTAGE_S, OUTAGE_S + 5, "the outage")
    stages.check_alive()  # an outage is not a reason to exit
    elasticsearch_cluster("start-node", "1")
    elasticsearch_cluster("start-node", "2")
    back = time.monotonic()
    fault_run.conclude(f"Elasticsearch stopped {OUTAGE_S} s", back, timeout=300)
