"""The destinations stage: segment announcements → signed webhooks, as each segment's file says.

Per batch: which destinations want each event (by segment and kind), one ``mget`` of the
delivery records (a redelivered event is not sent again to a destination that took it), one
``mget`` of the users' profiles (an erased user's events are not sent at all), the POSTs in
parallel, then one bulk write recording what was delivered. Each event's outcome:

- delivered everywhere it should go → done;
- a destination down, slow, rate limiting or refusing the signature → retried through the
  delayed retry queues (1 s, 10 s, 1 min by default), then parked in
  ``authstream.destinations.parked`` with the reason;
- a destination that answered another 4xx (or a redirect) → parked at once: sending the same
  request again would get the same answer.

A destination that failed does not hold the others: only its deliveries are tried again.
Delivery is at least once (a crash between a POST and its record sends it again), so receivers
dedupe on ``X-Authstream-Event-Id``; in practice each announcement arrives once.
"""

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from elasticsearch import AsyncElasticsearch
from prometheus_client import Counter

from consumers import __version__
from consumers.core.errors import (
    ConfigurationError,
    ThirdPartyAuthRejected,
    ThirdPartyRateLimited,
    ThirdPartyUnavailable,
)
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.outcome import DONE, Handled, Outcome, park, retry
from consumers.segments.definitions import Destination, Segment, load_segments
from consumers.segments.webhook import payload, signed_headers
from consumers.store.elastic import elasticsearch_errors
from consumers.thirdparty.http import pooled_client, request
from schemas import Event

log = structlog.get_logger("authstream.destinations")

CONCURRENT_DELIVERIES = 8
DELIVERED = frozenset(range(200, 300))

DELIVERIES = Counter(
    "authstream_webhook_deliveries_total",
    "Segment events sent to destination webhooks, by outcome (delivered, retry, parked, "
    "erased: not sent because the user was erased, duplicate: already delivered).",
    ["segment", "destination", "outcome"],
)


OUTCOMES = ("delivered", "retry", "parked", "erased", "duplicate")


def start_metrics(segments: Mapping[str, Segment]) -> None:
    """Every destination's series at zero from the first scrape."""
    for destination in destinations_of(segments):
        for outcome in OUTCOMES:
            DELIVERIES.labels(destination.segment, destination.name, outcome)


def destinations_of(segments: Mapping[str, Segment]) -> list[Destination]:
    return [d for segment in segments.values() for d in segment.destinations]


def destinations_missing(settings: Settings, environ: Mapping[str, str] = os.environ) -> str | None:
    """Off when no segment has a destination, or a secret is not in the environment."""
    destinations = destinations_of(load_segments(settings.segments_dir))
    if not destinations:
        return "no segment has a destination"
    unset = sorted({d.secret_env for d in destinations if not environ.get(d.secret_env)})
    if unset:
        return f"{', '.join(unset)} not set (the webhook signing secrets)"
    return None


def secrets_for(
    segments: Mapping[str, Segment], environ: Mapping[str, str] = os.environ
) -> dict[str, bytes]:
    """Each destination's signing secret (by destination key), from the environment."""
    found = {}
    for destination in destinations_of(segments):
        secret = environ.get(destination.secret_env)
        if not secret:
            raise ConfigurationError(
                f"{destination.secret_env} is not set: the signing secret of {destination.shown}"
            )
        found[destination.key] = secret.encode()
    return found


@dataclass(frozen=True)
class Delivery:
    position: int  # of the event in the batch
    event: Event
    destination: Destination

    @property
    def record_id(self) -> str:
        return f"{self.destination.key}:{self.event.event_id}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class DestinationsStage:
    name = "destinations"

    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Settings,
        segments: Mapping[str, Segment],
        secrets: Mapping[str, bytes],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.es = es
        # Made once: each es.options() builds a client, ~40 sub-clients in reference cycles.
        self.missing_ok = es.options(ignore_status=404)
        self.settings = settings
        self.names = Names(settings.name_prefix)
        self.segments = segments
        self.secrets = secrets
        self.clock = clock
        self.client = pooled_client(
            "", settings.destinations_timeout_s, {"User-Agent": f"authstream/{__version__}"}
        )
        start_metrics(segments)

    def _wanted(self, events: list[Event]) -> list[Delivery]:
        wanted = []
        for position, event in enumerate(events):
            segment = self.segments.get(str(event.data.get("segment")))
            kind = event.type.removeprefix("segment.")
            for destination in segment.destinations if segment else ():
                if kind in destination.events:
                    wanted.append(Delivery(position, event, destination))
        return wanted

    async def handle(self, events: list[Event]) -> Handled:
        outcomes: list[Outcome] = [DONE] * len(events)
        wanted = self._wanted(events)
        if not wanted:
            return Handled(outcomes)
        with elasticsearch_errors(self.settings):
            delivered = await self._delivered([d.record_id for d in wanted])
            erased = await self._erased({d.event.user.user_id for d in wanted})
        to_send = []
        for delivery in wanted:
            segment, name = delivery.destination.segment, delivery.destination.name
            if delivery.record_id in delivered:
                DELIVERIES.labels(segment, name, "duplicate").inc()
            elif delivery.event.user.user_id in erased:
                DELIVERIES.labels(segment, name, "erased").inc()
            else:
                to_send.append(delivery)
        gate = asyncio.Semaphore(CONCURRENT_DELIVERIES)

        async def send(delivery: Delivery) -> Outcome:
            async with gate:
                return await self._send(delivery)

        results = await asyncio.gather(*(send(d) for d in to_send))
        for delivery, outcome in zip(to_send, results, strict=True):
            current = outcomes[delivery.position]
            if outcome.kind == "park" or (outcome.kind == "retry" and current.kind == "done"):
                outcomes[delivery.position] = outcome
        with elasticsearch_errors(self.settings):
            await self._record([d for d, o in zip(to_send, results, strict=True) if o is DONE])
        return Handled(outcomes)

    async def _send(self, delivery: Delivery) -> Outcome:
        destination, event = delivery.destination, delivery.event
        body = payload(event)
        headers = signed_headers(self.secrets[destination.key], event, body, self.clock())
        labels = (destination.segment, destination.name)
        try:
            response = await request(
                self.client,
                f"webhook {destination.shown}",
                "POST",
                destination.url,
                handled=DELIVERED,
                content=body,
                headers=headers,
            )
        except ThirdPartyAuthRejected:
            DELIVERIES.labels(*labels, "retry").inc()
            return retry(
                f"webhook {destination.shown} refused the request (401/403): does it have the "
                f"secret in {destination.secret_env}?"
            )
        except (ThirdPartyRateLimited, ThirdPartyUnavailable) as exc:
            DELIVERIES.labels(*labels, "retry").inc()
            return retry(str(exc))
        if response.status_code in DELIVERED:
            DELIVERIES.labels(*labels, "delivered").inc()
            return DONE
        DELIVERIES.labels(*labels, "parked").inc()
        return park(
            f"webhook {destination.shown} answered {response.status_code}: {_excerpt(response)}"
        )

    async def _delivered(self, record_ids: list[str]) -> set[str]:
        found = await self.es.mget(index=self.names.deliveries_index, ids=record_ids)
        return {doc["_id"] for doc in found["docs"] if doc.get("found")}

    async def _erased(self, user_ids: set[str]) -> set[str]:
        found = await self.missing_ok.mget(
            index=self.names.users_alias, ids=sorted(user_ids), source_includes=["deleted_at"]
        )
        return {
            doc["_id"]
            for doc in found.get("docs", [])
            if doc.get("found") and doc["_source"].get("deleted_at")
        }

    async def _record(self, sent: list[Delivery]) -> None:
        if not sent:
            return
        now = self.clock().isoformat()
        operations: list[dict[str, Any]] = []
        for delivery in sent:
            operations += [
                {"index": {"_index": self.names.deliveries_index, "_id": delivery.record_id}},
                {
                    "destination": delivery.destination.key,
                    "segment": delivery.destination.segment,
                    "event_id": delivery.event.event_id,
                    "delivered_at": now,
                },
            ]
        answer = await self.es.bulk(operations=operations, filter_path="errors")
        if answer.get("errors"):  # delivered all the same: a redelivery would send them again
            log.warning("could not record some webhook deliveries", deliveries=len(sent))

    async def aclose(self) -> None:
        await self.client.aclose()


def _excerpt(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return (text[:200] + "…") if len(text) > 200 else (text or "(no body)")
