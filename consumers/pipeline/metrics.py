"""Prometheus metrics of the workers, served by ``authstream run`` on AUTHSTREAM_METRICS_PORT.

Names follow Prometheus conventions (``_total`` counters, base units). Every series is labelled
by stage, so one dashboard serves all stages and each stage scales and alerts on its own.
"""

import prometheus_client
from prometheus_client import Counter, Gauge, Histogram

from consumers.core.errors import ConfigurationError
from consumers.core.settings import Settings

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
AUTH_REJECTED = Gauge(
    "authstream_third_party_auth_rejected",
    "1 while the provider rejects authstream's credentials (the stage holds its work).",
    ["provider"],
)


def serve(settings: Settings) -> None:
    """Expose /metrics in a background thread (0 disables)."""
    if not settings.metrics_port:
        return
    try:
        prometheus_client.start_http_server(settings.metrics_port, addr=settings.metrics_host)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: "
            f"{exc.strerror} (set AUTHSTREAM_METRICS_PORT, or 0 to turn metrics off)"
        ) from None
