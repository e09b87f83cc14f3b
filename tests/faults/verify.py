"""Compare what the pipeline holds with the ground truth.

* every valid event the publisher had confirmed is an event document (lost: those that are not);
* every profile's counters equal what its confirmed events add up to (duplicates: counts beyond
  it, the trace a redelivery counted twice would leave; a missing count is a lost event);
* every poison message is in the index stage's parking lot with its reason, and nothing else is
  parked anywhere;
* every stage did its work: enrichment, sentiment, the Auth0 profile, the segment entered (folded
  into the profile) and the webhook told, for every customer;
* every work and retry queue is empty.
"""

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pika.exceptions
from elasticsearch import Elasticsearch

from consumers.broker import failures
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.store.elastic import client_options
from tests import broker
from tests.faults.pipeline import STAGES
from tests.faults.workload import Workload
from tests.standins import WebhookReceiver

IDS_PER_QUERY = 1_000


@dataclass
class Tally:
    published: int = 0  # valid events confirmed to the publisher
    indexed: int = 0  # of those, stored as event documents
    lost: int = 0
    duplicates: int = 0  # counts beyond the ground truth, over every profile and counter
    parked: int = 0  # poison messages found parked with a reason
    poison: int = 0  # poison messages confirmed to the publisher
    webhook_repeats: int = 0  # webhook deliveries beyond the first per (segment, user)
    pending: dict[str, int] = field(default_factory=dict)  # what is not there (yet), by kind

    @property
    def complete(self) -> bool:
        return not self.pending and self.lost == 0 and self.parked == self.poison


def _es(settings: Settings) -> Elasticsearch:
    # The check itself rides out a node that is down: it is not what is being tested.
    options = client_options(settings) | {"max_retries": 3, "retry_on_timeout": True}
    return Elasticsearch(**options)


def _indexed(es: Elasticsearch, index: str, ids: list[str]) -> int:
    found = 0
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        found += int(es.count(index=index, query={"ids": {"values": chunk}})["count"])
    return found


def _profiles(es: Elasticsearch, index: str) -> dict[str, dict[str, Any]]:
    fields = [
        "user_id",
        "counters",
        "gender",
        "enrichment.fullcontact.status",
        "sentiment",
        "auth0.created_at",
        "segments.name",
    ]
    hits = es.search(index=index, size=10_000, source=fields, query={"match_all": {}})
    return {hit["_id"]: hit["_source"] for hit in hits["hits"]["hits"]}


def _count(settings: Settings, queue: str) -> int:
    """Messages in ``queue``; 0 when there is no such queue (a stage that is off has none)."""
    try:
        return broker.message_count(settings, queue)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return 0
        raise


def _queues_busy(settings: Settings) -> int:
    names = Names(settings.name_prefix)
    busy = 0
    for stage in STAGES:
        queues = [names.work_queue(stage)] + [
            names.retry_queue(stage, delay) for delay in settings.retry_delays_ms
        ]
        for queue in queues:
            busy += _count(settings, queue)
    return busy


def _stage_work_missing(customer_kind: str, profile: dict[str, Any]) -> list[str]:
    missing = []
    if customer_kind == "enriched" and not (profile.get("enrichment") or {}).get("fullcontact"):
        missing.append("enrich")
    if customer_kind == "fan" and not profile.get("sentiment"):
        missing.append("sentiment")
    if customer_kind == "logstream" and not (profile.get("auth0") or {}).get("created_at"):
        missing.append("auth0")
    return missing


def tally(
    settings: Settings,
    workload: Workload,
    confirmed: set[str],
    receiver: WebhookReceiver,
    *,
    queues: bool = True,
) -> Tally:
    names = Names(settings.name_prefix)
    result = Tally()
    valid = sorted(workload.valid(confirmed))
    result.published = len(valid)
    result.poison = len(workload.poison & confirmed)
    pending: Counter[str] = Counter()
    with _es(settings) as es:
        es.indices.refresh(index=f"{names.events_stream},{names.users_alias}")
        result.indexed = _indexed(es, names.events_stream, valid)
        profiles = _profiles(es, names.users_alias)
    result.lost = result.published - result.indexed
    truth = workload.truth(confirmed)
    for user_id, expected in truth.items():
        profile = profiles.get(user_id)
        if profile is None:
            pending["profiles"] += 1
            continue
        counted = Counter(profile.get("counters") or {})
        for counter in expected.keys() | counted.keys():
            if counter not in expected and counter not in (
                "signups",
                "logins",
                "failed_logins",
                "behaviors",
            ):
                continue
            excess = counted[counter] - expected[counter]
            if excess > 0:
                result.duplicates += excess
            elif excess < 0:
                pending["counts"] += -excess
        customer = workload.customers[user_id]
        for stage in _stage_work_missing(customer.kind, profile):
            pending[stage] += 1
        segments = {s.get("name") for s in profile.get("segments") or []}
        if customer.segment not in segments:
            pending["segments"] += 1
    delivered: Counter[tuple[str, str]] = Counter()
    for body in receiver.bodies():
        if isinstance(body, dict) and body.get("type") == "segment.entered":
            delivered[(str(body.get("segment")), str((body.get("user") or {}).get("user_id")))] += 1
    for customer in workload.customers.values():
        if not delivered[(customer.segment, customer.user_id)]:
            pending["webhooks"] += 1
    result.webhook_repeats = sum(n - 1 for n in delivered.values() if n > 1)
    result.parked = broker.message_count(settings, names.parking_lot("index"))
    if queues and (busy := _queues_busy(settings)):
        pending["queued"] = busy
    result.pending = dict(pending)
    return result


def await_complete(
    settings: Settings,
    workload: Workload,
    confirmed: set[str],
    receiver: WebhookReceiver,
    timeout: float,
    on_poll: Any = None,
) -> tuple[Tally, float]:
    """Poll until the pipeline holds the ground truth; the tally and when it first did."""
    deadline = time.monotonic() + timeout
    last: Tally | None = None
    next_report = time.monotonic() + 10
    while True:
        if on_poll is not None:
            on_poll()
        try:
            last = tally(settings, workload, confirmed, receiver)
        except Exception as exc:  # a service still coming back: keep polling until the deadline
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read the outcome: {exc!r}") from exc
            time.sleep(1)
            continue
        if last.complete:
            return last, time.monotonic()
        if time.monotonic() >= next_report:  # the log of a slow recovery says what it waited for
            print(f"waiting: lost {last.lost}, parked {last.parked}/{last.poison}, {last.pending}")
            next_report = time.monotonic() + 10
        if time.monotonic() > deadline:
            return last, time.monotonic()
        time.sleep(1)


def parked_reasons(settings: Settings) -> dict[str, str]:
    """Message id → the reason it was parked with (the index stage's parking lot, drained)."""
    taken = broker.drain(settings, Names(settings.name_prefix).parking_lot("index"))
    return {
        str(properties.message_id): str((properties.headers or {}).get(failures.ERROR, ""))
        for _, properties, _ in taken
    }


def other_parking_lots(settings: Settings) -> dict[str, int]:
    names = Names(settings.name_prefix)
    parked = {}
    for stage in STAGES[1:]:
        if count := _count(settings, names.parking_lot(stage)):
            parked[stage] = count
    return parked
