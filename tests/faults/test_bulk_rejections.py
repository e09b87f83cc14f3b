"""Elasticsearch answering 429 for part of a bulk (a proxy in front of the index stage drops a
share of each bulk's items and answers them ``es_rejected_execution_exception``), and a broker
connection dropped between the bulk and the ack (the proxy lets Elasticsearch answer, cuts the
index worker's connection, then hands the answer over: the writes are durable, the ack impossible).
"""

import time
from urllib.parse import urlsplit

from tests.faults.esproxy import ElasticsearchProxy
from tests.faults.scenario import FaultRun
from tests.proxy import proxy_to

CUTS = 5


def test_part_of_each_bulk_refused_with_429_is_held_and_written_later_exactly_once(
    fault_run: FaultRun,
) -> None:
    settings = fault_run.prepare()
    with ElasticsearchProxy(settings.elasticsearch_url.split(",")[0]) as proxy:
        fault_run.start_stages({"index": {"AUTHSTREAM_ELASTICSEARCH_URL": proxy.url}})
        proxy.reject_share = 0.1
        publisher = fault_run.publish(rate=150)
        publisher.finish()
        cleared = time.monotonic()
        proxy.reject_share = 0.0
        outcome = fault_run.conclude(
            "ES 429 on 10% of bulk items", cleared, note=f"{proxy.rejected} items refused"
        )
    # A refusal holds the whole batch (backing off) until every item is in, so refusals are
    # as frequent as the batches retried: dozens over the stream.
    assert proxy.rejected > 30, "the fault did not happen often enough to mean anything"
    assert outcome.indexed == outcome.published


def test_a_connection_dropped_between_the_bulk_and_the_ack_counts_nothing_twice(
    fault_run: FaultRun,
) -> None:
    settings = fault_run.prepare()
    amqp = urlsplit(settings.amqp_urls()[0])
    cut: list[int] = []
    with (
        proxy_to(amqp.hostname or "127.0.0.1", amqp.port or 5672) as broker_link,
        ElasticsearchProxy(settings.elasticsearch_url.split(",")[0]) as proxy,
    ):

        def cut_before_the_ack(bulk: int) -> None:
            if bulk % 5 == 2 and len(cut) < CUTS:
                broker_link.down()  # the index worker's broker connection, and only its
                broker_link.up = True
                cut.append(bulk)

        through = f"amqp://guest:guest@127.0.0.1:{broker_link.port}/"
        fault_run.start_stages(
            {"index": {"AUTHSTREAM_ELASTICSEARCH_URL": proxy.url, "AUTHSTREAM_AMQP_URL": through}}
        )
        proxy.after_bulk = cut_before_the_ack
        publisher = fault_run.publish(rate=250)
        publisher.finish()
        cleared = time.monotonic()
        outcome = fault_run.conclude(f"connection cut after bulk, before ack x{len(cut)}", cleared)
    assert len(cut) >= 3, f"too few connections cut to mean anything: {cut}"
    assert outcome.duplicates == 0
