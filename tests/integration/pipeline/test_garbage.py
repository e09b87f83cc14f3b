"""Stage workers leave no garbage in reference cycles: what they drop, reference counting frees
at once. It matters because the cycle collector is tuned to run seldom (``core.gc_tuning``): a
quiet process reaches its threshold after tens of minutes, so cyclic garbage made every few
seconds (an ``es.options()`` client per readiness check: 127 objects, 18 KB) piled up as the
soak's growing memory (BENCHMARKS.md, "Soak")."""

import gc
from collections import Counter

from prometheus_client import REGISTRY

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.health import Health
from tests import broker
from tests.helpers import dumps, eventually, publish_events
from tests.integration.pipeline.test_worker import tenant
from tests.workers import running


def _done(stage: str) -> float:
    labels = {"stage": stage, "outcome": "done"}
    return REGISTRY.get_sample_value("authstream_messages_total", labels) or 0.0


def test_the_index_and_segments_workers_and_their_checks_leave_no_cyclic_garbage(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    checks = [0]

    async def counted() -> None:
        checks[0] += 1

    health = Health()
    health.add("counted", counted)
    later = [dumps(e) for e in tenant(range(50, 350), 3)]
    exchange = Names(settings.name_prefix).exchange
    with running(settings, ("index", "segments"), health), broker.channel(settings) as channel:
        publish_events(tenant(range(50), 2), tmp_path)  # warm: connections, caches, imports
        eventually(lambda: _done("index") >= 150 and checks[0] >= 1, timeout=60)
        gc.collect()
        gc.disable()  # from here on, garbage in cycles stays until the collection below
        try:
            index, segments, checked = _done("index"), _done("segments"), checks[0]
            for body in later:  # on a channel opened before: the test itself makes no garbage
                channel.basic_publish(exchange, "auth.login", body)
            eventually(
                lambda: (
                    _done("index") >= index + len(later)
                    and _done("segments") > segments
                    and checks[0] >= checked + 3
                ),  # the dependency checks ran again, 5 s apart
                timeout=90,
            )
            gc.set_debug(gc.DEBUG_SAVEALL)  # keep what the collector finds, to name it
            found = gc.collect()
            kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert found == 0, f"cyclic garbage: {kinds.most_common(10)}"
