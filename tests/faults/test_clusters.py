"""The engines users move to when they outgrow one machine, each losing a node mid-stream:

* a three-node RabbitMQ cluster (quorum queues replicated on all three) with one node killed
  (SIGKILL) and started again; clients connected to it move to the others
  (``AUTHSTREAM_AMQP_URL`` lists the nodes);
* a two-node Elasticsearch cluster with its data-only node stopped and started again; every index
  has a replica on the other node, and the clients list both nodes.
"""

import random
import time

from tests.faults.conftest import PrivateCluster
from tests.faults.scenario import FaultRun

DOWN_S = 15


def test_a_rabbitmq_node_killed_and_restarted_loses_nothing(
    fault_run: FaultRun, rabbitmq_cluster: PrivateCluster
) -> None:
    fault_run.prepare(amqp_url=rabbitmq_cluster.urls)
    fault_run.start_stages()
    publisher = fault_run.publish(rate=150)
    publisher.wait_for(len(fault_run.workload.messages) // 3 if fault_run.workload else 0)
    node = str(random.randint(1, 3))
    rabbitmq_cluster("kill", node)
    killed = time.monotonic()
    publisher.wait_for(publisher.sent + 300)  # the stream goes on through the other two
    time.sleep(max(0.0, DOWN_S - (time.monotonic() - killed)))
    rabbitmq_cluster("start-node", node)
    fault_run.conclude(f"RabbitMQ cluster: node {node}/3 killed", time.monotonic(), timeout=300)


def test_an_elasticsearch_node_stopped_and_restarted_loses_nothing(
    fault_run: FaultRun, elasticsearch_cluster: PrivateCluster
) -> None:
    fault_run.prepare(elasticsearch_url=elasticsearch_cluster.urls)
    fault_run.start_stages()
    publisher = fault_run.publish(rate=150)
    publisher.wait_for(len(fault_run.workload.messages) // 3 if fault_run.workload else 0)
    elasticsearch_cluster("stop-node", "2")
    stopped = time.monotonic()
    publisher.wait_for(publisher.sent + 300)
    time.sleep(max(0.0, DOWN_S - (time.monotonic() - stopped)))
    elasticsearch_cluster("start-node", "2")
    fault_run.conclude("Elasticsearch cluster: node 2/2 stopped", time.monotonic(), timeout=300)
