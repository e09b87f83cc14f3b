"""The enrich stage: ``enrich.requested`` → one provider call per email → ``profile.enriched``.

The article's FullContact rule, done properly:

- asked once per email, keyed by a hash of it: an answer (or a "not found") is cached in
  ``authstream-enrichment`` and reused by every profile with that email (linked accounts,
  re-registrations) until it is older than ``AUTHSTREAM_ENRICH_MAX_AGE_DAYS``;
- never two calls for the same email at once: one caller per email in this process, and a lease
  in Elasticsearch across processes;
- paced (``RateLimiter``), within a daily budget that is never exceeded (``CallBudget``), behind a
  circuit breaker, so an outage costs one probe at a time;
- every answer handled: 200 → enriched, 404 → not found, 401/403 → the stage holds its work and
  says so loudly, 429 → everyone waits for ``Retry-After``, 5xx and timeouts → two quick retries
  with backoff and jitter, then the batch is held until the provider recovers.

Holding means raising a ``RetryableError``: the worker keeps the batch unacked and backs off, the
queue waits, and logins keep being indexed by the index stage meanwhile. Answers already obtained
are cached, so a held batch never pays for them twice.
"""

import asyncio
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog
from elasticsearch import AsyncElasticsearch

from consumers.core.errors import (
    ThirdPartyAuthRejected,
    ThirdPartyRateLimited,
    ThirdPartyUnavailable,
)
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.enrich import Answer, Enricher, configured_enrichers, email_hash
from consumers.pipeline import metrics
from consumers.pipeline.outcome import DONE, Emit, Handled, Outcome, park
from consumers.profile.model import DerivedEvent
from consumers.stages.derived import Change, derived_event, derived_id
from consumers.store.elastic import elasticsearch_errors
from consumers.store.state import StateStore
from consumers.thirdparty.budget import CallBudget
from consumers.thirdparty.circuit import CircuitBreaker
from consumers.thirdparty.http import most_telling
from consumers.thirdparty.limits import RateLimiter
from schemas import SCHEMA_ID, Event

log = structlog.get_logger("authstream.enrich")

REQUESTED = "enrich.requested"
# A request waiting in the queue is not asked again by the next login for this long.
REQUEST_WINDOW = timedelta(hours=6)
# An error answer (400/422 for that email) is asked again after a day, not after max age.
ERROR_MAX_AGE = timedelta(days=1)
QUICK_RETRIES = (0.5, 1.5)  # seconds, before jitter: a blip should not hold the batch
CONCURRENT_CALLS = 4


def is_fresh(status: str, fetched_at: datetime, now: datetime, max_age: timedelta) -> bool:
    return fetched_at > now - (ERROR_MAX_AGE if status == "error" else max_age)


# --- what the index stage derives for this stage -------------------------------------------------


def enrichment_wanted(change: Change, settings: Settings) -> list[DerivedEvent]:
    """An ``enrich.requested`` per configured provider when the profile has an email and no
    fresh answer for it (no email → no call, as in the article's rule)."""
    profile = change.after
    if not profile.email or profile.deleted_at is not None:
        return []
    hashed = email_hash(profile.email)
    max_age = timedelta(days=settings.enrich_max_age_days)
    wanted = []
    for provider in configured_enrichers(settings):
        block = profile.enrichment.get(provider)
        if (
            block is not None
            and block.finding("email_hash") == hashed
            and is_fresh(block.status, block.updated_at, change.now, max_age)
        ):
            continue
        key = f"enrich:{provider}"
        asked_hash, _, asked_at = profile.requested.get(key, "").partition("|")
        if (
            asked_hash == hashed
            and asked_at
            and datetime.fromisoformat(asked_at) > change.now - REQUEST_WINDOW
        ):
            continue
        data = {"provider": provider, "email": profile.email, "email_hash": hashed}
        request = (key, f"{hashed}|{change.now.isoformat()}")
        wanted.append(
            derived_event(
                REQUESTED, change.cause, profile.user_id, data, f"{REQUESTED}.{provider}", request
            )
        )
    return wanted


# --- the stage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cached:
    provider: str
    email_hash: str
    status: str
    fetched_at: datetime
    response: dict[str, Any] | None

    def fresh(self, now: datetime, max_age: timedelta) -> bool:
        return is_fresh(self.status, self.fetched_at, now, max_age)


@dataclass
class Provider:
    """One enricher with its pacing, budget and circuit."""

    enricher: Enricher
    limiter: RateLimiter
    circuit: CircuitBreaker
    budget: CallBudget


def utcnow() -> datetime:
    return datetime.now(UTC)


class EnrichStage:
    name = "enrich"

    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Settings,
        enrichers: dict[str, Enricher],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.es = es
        # Made once: each es.options() builds a client, ~40 sub-clients in reference cycles.
        self.missing_ok = es.options(ignore_status=404)
        self.settings = settings
        self.names = Names(settings.name_prefix)
        self.clock = clock
        self.state = StateStore(es, self.names)
        self.max_age = timedelta(days=settings.enrich_max_age_days)
        self.holder = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.providers = {
            name: Provider(
                enricher,
                RateLimiter(enricher.requests_per_second),
                CircuitBreaker(),
                CallBudget(self.state, name, enricher.daily_budget, "day", clock),
            )
            for name, enricher in enrichers.items()
        }
        self._asking: dict[str, asyncio.Future[Cached]] = {}  # cache key -> the call under way
        for name in self.providers:
            metrics.start_provider(name)

    async def handle(self, events: list[Event]) -> Handled:
        outcomes: list[Outcome] = [DONE] * len(events)
        wanted: dict[str, tuple[str, str, str]] = {}  # cache key -> (provider, email, hash)
        keys: list[str | None] = []
        for position, event in enumerate(events):
            provider, email = event.data.get("provider"), event.data.get("email")
            if provider not in self.providers or not isinstance(email, str) or "@" not in email:
                outcomes[position] = park(
                    f"not an enrichment request authstream can serve (provider {provider!r})"
                )
                keys.append(None)
                continue
            hashed = email_hash(email)
            key = f"{provider}:{hashed}"
            wanted.setdefault(key, (str(provider), email, hashed))
            keys.append(key)
        with elasticsearch_errors(self.settings):
            answers = await self._answers(wanted)
        emits = [
            self._finding(event, answers[key])
            for event, key in zip(events, keys, strict=True)
            if key is not None
        ]
        return Handled(outcomes, emits)

    async def _answers(self, wanted: dict[str, tuple[str, str, str]]) -> dict[str, Cached]:
        now = self.clock()
        answers = {
            k: c
            for k, c in (await self._cached(list(wanted))).items()
            if c.fresh(now, self.max_age)
        }
        missing = [k for k in wanted if k not in answers]
        if missing:
            gate = asyncio.Semaphore(CONCURRENT_CALLS)

            async def one(key: str) -> Cached:
                async with gate:
                    return await self._ask_once(key, *wanted[key])

            results = await asyncio.gather(*(one(k) for k in missing), return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                raise most_telling(failures)
            answers |= {
                k: r for k, r in zip(missing, results, strict=True) if isinstance(r, Cached)
            }
        return answers

    async def _cached(self, keys: list[str]) -> dict[str, Cached]:
        if not keys:
            return {}
        found = await self.missing_ok.mget(index=self.names.enrichment_cache, ids=keys)
        return {
            doc["_id"]: Cached(
                provider=doc["_source"]["provider"],
                email_hash=doc["_source"]["email_hash"],
                status=doc["_source"]["status"],
                fetched_at=datetime.fromisoformat(doc["_source"]["fetched_at"]),
                response=doc["_source"].get("response"),
            )
            for doc in found.get("docs", [])
            if doc.get("found")
        }

    async def _ask_once(self, key: str, provider: str, email: str, hashed: str) -> Cached:
        """One call per key at a time in this process: later askers wait for the first."""
        asking = self._asking.get(key)
        if asking is not None:
            return await asyncio.shield(asking)
        future: asyncio.Future[Cached] = asyncio.get_running_loop().create_future()
        self._asking[key] = future
        try:
            answer = await self._ask(key, provider, email, hashed)
            future.set_result(answer)
            return answer
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # marked as read: other askers re-raise it themselves
            raise
        finally:
            del self._asking[key]

    async def _ask(self, key: str, provider_name: str, email: str, hashed: str) -> Cached:
        provider = self.providers[provider_name]
        if not provider.circuit.allow():
            metrics.CIRCUIT_OPEN.labels(provider_name).set(1)
            raise ThirdPartyUnavailable(
                f"{provider_name} is failing; next probe in {provider.circuit.retry_in_s:.0f} s"
            )
        lease = f"lease:{key}"
        if not await self.state.lease(lease, self.holder, timedelta(minutes=2), self.clock()):
            raise ThirdPartyUnavailable(f"another worker is asking {provider_name} for this email")
        try:
            answer = await self._call(provider, provider_name, email)
            cached = Cached(provider_name, hashed, answer.status, self.clock(), answer.response)
            await self.es.index(
                index=self.names.enrichment_cache,
                id=key,
                document={
                    "provider": provider_name,
                    "email_hash": hashed,
                    "status": cached.status,
                    "fetched_at": cached.fetched_at.isoformat(),
                    "reason": answer.reason or None,
                    "response": cached.response,
                },
            )
            return cached
        finally:
            await self.state.release(lease)

    async def _call(self, provider: Provider, name: str, email: str) -> Answer:
        for pause in (*QUICK_RETRIES, None):
            await provider.limiter.acquire()
            await provider.budget.spend()
            metrics.BUDGET_REMAINING.labels(name, "day").set(provider.budget.remaining)
            try:
                answer = await provider.enricher.enrich(email)
            except ThirdPartyAuthRejected:
                metrics.THIRD_PARTY_CALLS.labels(name, "auth_rejected").inc()
                metrics.AUTH_REJECTED.labels(name).set(1)
                provider.circuit.failed()
                log.error(
                    "third-party credentials rejected: holding the enrich queue until they work",
                    provider=name,
                )
                raise
            except ThirdPartyRateLimited as exc:
                metrics.THIRD_PARTY_CALLS.labels(name, "rate_limited").inc()
                provider.limiter.pause_for(exc.retry_after or 1.0)
                raise
            except ThirdPartyUnavailable:
                metrics.THIRD_PARTY_CALLS.labels(name, "unavailable").inc()
                if pause is None:
                    provider.circuit.failed()
                    metrics.CIRCUIT_OPEN.labels(name).set(int(provider.circuit.state != "closed"))
                    raise
                await asyncio.sleep(pause * (0.5 + random.random()))
                continue
            provider.circuit.succeeded()
            metrics.CIRCUIT_OPEN.labels(name).set(0)
            metrics.AUTH_REJECTED.labels(name).set(0)
            metrics.THIRD_PARTY_CALLS.labels(name, answer.status).inc()
            return answer
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _finding(self, request: Event, cached: Cached) -> Emit:
        user_id = request.user.user_id
        event_id = derived_id(request.event_id, "profile.enriched")
        body = {
            "schema": SCHEMA_ID,
            "event_id": event_id,
            "type": "profile.enriched",
            "occurred_at": cached.fetched_at.isoformat(),
            "source": "authstream",
            "tenant": request.tenant,
            "user": {"user_id": user_id},
            "data": {
                "status": cached.status,
                "provider": cached.provider,
                "updated_at": cached.fetched_at.isoformat(),
                "email_hash": cached.email_hash,
                "response": cached.response,
            },
        }
        return Emit(
            self.names.exchange,
            "profile.enriched",
            orjson.dumps(body),
            event_id,
            "profile.enriched",
        )

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.enricher.aclose()
