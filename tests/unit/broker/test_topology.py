from consumers.broker.topology import Binding, build_topology
from consumers.core.names import Names
from consumers.core.settings import Settings

STAGES = {
    "index": (Binding("events", "#"),),
    "enrich": (Binding("derived", "enrich.requested.*"),),
}


def test_every_stage_has_a_work_queue_retry_queues_and_a_parking_lot() -> None:
    settings = Settings(name_prefix="x-", retry_delays_ms=[1000, 60000], delivery_limit=7)
    names = Names("x-")
    topology = build_topology(settings, STAGES)
    queues = {q.name: q for q in topology.queues}
    for stage in STAGES:
        work = queues[names.work_queue(stage)]
        assert work.arguments["x-queue-type"] == "quorum"
        assert work.arguments["x-delivery-limit"] == 7
        assert work.arguments["x-dead-letter-routing-key"] == names.parking_lot(stage)
        retry = queues[names.retry_queue(stage, 60000)]
        assert retry.arguments["x-message-ttl"] == 60000
        assert retry.arguments["x-dead-letter-routing-key"] == work.name
        assert queues[names.parking_lot(stage)].bindings == ()
    assert names.retry_queue("index", 60000) == "x-authstream.index.retry.1m"
    assert topology.exchanges == ("x-authstream.events", "x-authstream.derived")


def test_raw_events_reach_only_the_index_stage_and_derived_events_the_others() -> None:
    topology = build_topology(Settings(), STAGES)
    assert topology.bindings() == {
        ("authstream.events", "authstream.index", "#"),
        ("authstream.derived", "authstream.enrich", "enrich.requested.*"),
    }


def test_a_stage_that_is_not_enabled_gets_no_queue() -> None:
    topology = build_topology(Settings(), {"index": STAGES["index"]})
    assert not any("enrich" in q.name for q in topology.queues)


def test_classic_queues_have_no_delivery_limit() -> None:
    topology = build_topology(Settings(queue_type="classic"), STAGES)
    assert all("x-delivery-limit" not in q.arguments for q in topology.queues)
    assert all(q.arguments["x-queue-type"] == "classic" for q in topology.queues)
