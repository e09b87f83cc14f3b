"""Prometheus metrics of every process that does work, served on AUTHSTREAM_METRICS_PORT by
``pipeline.health`` (with ``/healthz`` and ``/readyz``).

Names follow Prometheus conventions (``_total`` counters, base units). Every series is labelled
by stage, so one dashboard serves all stages and each stage scales and alerts on its own. The
``start_*`` functions create a process's label sets before any work, so rates, ``absent()`` and
alerts see zeros from the first scrape instead of series that appear only after the first batch.
"""

import platform

from prometheus_client import Counter, Gauge, Histogram, Info

from consumers import __version__

OUTCOMES = ("done", "retry", "park")
# Why Elasticsearch did not take a bulk item: a profile someone else wrote since we read it (folded
# again), 429 (retried), 5xx (retried), any other 4xx (the event is parked).
BULK_FAILURE_REASONS = ("conflict", "overloaded", "unavailable", "rejected")
THIRD_PARTY_OUTCOMES = (
    "ok",
    "enriched",
    "not_found",
    "error",
    "rate_limited",
    "unavailable",
    "auth_rejected",
)
# Backfills carry when things happened long ago: their age says nothing about how far behind
# the stream is, so they stay out of the lag histogram.
BACKFILL_SOURCES = frozenset({"auth0-sync"})
PROFILE_SOURCES = ("kept", "elasticsearch")
INGEST_ANSWERS = ("200", "400", "401", "413", "503")

MESSAGES = Counter(
    "authstream_messages_total",
    "Messages settled by a stage, by outcome (done, retry, park).",
    ["stage", "outcome"],
)
DROPPED = Counter(
    "authstream_events_dropped_total",
    "Events deliberately not stored, by reason (erased: late events of an erased user).",
    ["stage", "reason"],
)
DUPLICATES = Counter(
    "authstream_duplicate_events_total",
    "Redelivered events recognised as already stored (counted nothing twice).",
    ["stage"],
)
BATCH_SECONDS = Histogram(
    "authstream_batch_duration_seconds",
    "From a batch's first delivery to its ack.",
    ["stage"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BATCH_SIZE = Histogram(
    "authstream_batch_messages",
    "Messages per batch.",
    ["stage"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000),
)
DEPENDENCY_DOWN = Gauge(
    "authstream_dependency_down",
    "1 while the stage holds a batch because a dependency (e.g. Elasticsearch) is unavailable.",
    ["stage"],
)
RECONNECTS = Counter(
    "authstream_broker_reconnects_total", "Times the stage lost its broker connection.", ["stage"]
)
LAG = Histogram(
    "authstream_event_lag_seconds",
    "From an event's occurred_at to the ack of the batch that completed it (backfills excluded).",
    ["stage"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600),
)
BULK_SECONDS = Histogram(
    "authstream_bulk_duration_seconds",
    "One Elasticsearch bulk request, from sending it to its answer.",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BULK_ITEM_FAILURES = Counter(
    "authstream_bulk_item_failures_total",
    "Bulk items Elasticsearch did not take, by reason (conflict: folded again; overloaded, "
    "unavailable: retried; rejected: parked).",
    ["stage", "reason"],
)
PROFILE_READS = Counter(
    "authstream_profile_reads_total",
    "Profiles a batch started from, by where they came from (kept: written by this process "
    "before; elasticsearch: read back).",
    ["stage", "source"],
)
THIRD_PARTY_CALLS = Counter(
    "authstream_third_party_calls_total",
    "Calls to third-party APIs by provider and outcome (enriched, not_found, error, "
    "rate_limited, unavailable, auth_rejected, ok).",
    ["provider", "outcome"],
)
BUDGET_REMAINING = Gauge(
    "authstream_third_party_budget_remaining",
    "Calls left in the provider's budget for the current period.",
    ["provider", "period"],
)
CIRCUIT_OPEN = Gauge(
    "authstream_third_party_circuit_open",
    "1 while calls to the provider are suspended after repeated failures.",
    ["provider"],
)
BUDGET_LIMIT = Gauge(
    "authstream_third_party_budget_limit",
    "Calls the provider's budget allows per period.",
    ["provider", "period"],
)
AUTH_REJECTED = Gauge(
    "authstream_third_party_auth_rejected",
    "1 while the provider rejects authstream's credentials (the stage holds its work).",
    ["provider"],
)
INGEST_REQUESTS = Counter(
    "authstream_ingest_requests_total",
    "Log Stream deliveries answered by `authstream ingest`, by HTTP status.",
    ["code"],
)
INGEST_EVENTS = Counter(
    "authstream_ingest_events_total",
    "Log records received by `authstream ingest`: published (confirmed) or skipped (no user).",
    ["outcome"],
)
# The shop collector (POST /v1/events on `authstream ingest`).
COLLECT_ANSWERS = ("200", "400", "401", "403", "413", "429", "503")
COLLECT_REQUESTS = Counter(
    "authstream_collect_requests_total",
    "Shop event requests answered by the collector, by HTTP status.",
    ["code"],
)
COLLECT_EVENTS = Counter(
    "authstream_collect_events_total",
    "Shop events by source (write key): published (confirmed) or rejected (invalid).",
    ["source", "outcome"],
)
BUILD = Info("authstream_build", "The running authstream: version and Python.")
BUILD.info({"version": __version__, "python": platform.python_version()})
HEARTBEAT = Gauge(
    "authstream_heartbeat_timestamp_seconds",
    "When the process's event loop last turned (Unix time); /healthz fails when it is stale.",
)


def start_stage(stage: str) -> None:
    """Every series of a stage, at zero, before its first batch."""
    for outcome in OUTCOMES:
        MESSAGES.labels(stage, outcome)
    DUPLICATES.labels(stage)
    BATCH_SECONDS.labels(stage)
    BATCH_SIZE.labels(stage)
    LAG.labels(stage)
    DEPENDENCY_DOWN.labels(stage).set(0)
    RECONNECTS.labels(stage)


def start_bulk(stage: str) -> None:
    """The bulk series of a stage that writes to Elasticsearch in bulk."""
    BULK_SECONDS.labels(stage)
    for reason in BULK_FAILURE_REASONS:
        BULK_ITEM_FAILURES.labels(stage, reason)
    DROPPED.labels(stage, "erased")
    for source in PROFILE_SOURCES:
        PROFILE_READS.labels(stage, source)


def start_provider(provider: str) -> None:
    """Every series of a third-party provider: calls by outcome, circuit and credentials state."""
    for outcome in THIRD_PARTY_OUTCOMES:
        THIRD_PARTY_CALLS.labels(provider, outcome)
    CIRCUIT_OPEN.labels(provider).set(0)
    AUTH_REJECTED.labels(provider).set(0)


def start_ingest() -> None:
    """The ingest series: answers by status, records by outcome."""
    for code in INGEST_ANSWERS:
        INGEST_REQUESTS.labels(code)
    for outcome in ("published", "skipped"):
        INGEST_EVENTS.labels(outcome)


def start_collector(sources: set[str]) -> None:
    """The collector series: answers by status, events by source and outcome."""
    for code in COLLECT_ANSWERS:
        COLLECT_REQUESTS.labels(code)
    for source in sources:
        for outcome in ("published", "rejected"):
            COLLECT_EVENTS.labels(source, outcome)
