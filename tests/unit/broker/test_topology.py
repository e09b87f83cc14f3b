from consumers.broker.topology import STAGE_ROUTES, build_topology
from consumers.core.names import Names
from consumers.core.settings import Settings


def test_every_stage_has_a_work_queue_retry_queues_and_a_parking_lot() -> None:
    settings = Settings(name_prefix="x-", retry_delays_ms=[1000, 60000], delivery_limit=7)
    names = Names("x-")
    queues = {q.name: q for q in build_topology(settings).queues}
    for stage in STAGE_ROUTES:
        work = queues[names.work_queue(stage)]
        assert work.arguments["x-queue-type"] == "quorum"
        assert work.arguments["x-delivery-limit"] == 7
        assert work.arguments["x-dead-letter-routing-key"] == names.parking_lot(stage)
        assert work.routing_keys == STAGE_ROUTES[stage]
        retry = queues[names.retry_queue(stage, 60000)]
        assert retry.arguments["x-message-ttl"] == 60000
        assert retry.arguments["x-dead-letter-routing-key"] == work.name
        assert queues[names.parking_lot(stage)].routing_keys == ()
    assert names.retry_queue("index", 60000) == "x-authstream.index.retry.1m"


def test_classic_queues_have_no_delivery_limit() -> None:
    topology = build_topology(Settings(queue_type="classic"))
    assert all("x-delivery-limit" not in q.arguments for q in topology.queues)
    assert all(q.arguments["x-queue-type"] == "classic" for q in topology.queues)
