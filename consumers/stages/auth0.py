"""The auth0 stage: full Auth0 profiles for users known only from the Log Stream, and Log Stream
reconciliation on a schedule.

Log Stream records carry no profile (no gender, birthday, metadata), so a profile built from them
alone matches no campaign segment. When the index stage writes a profile of an Auth0 user that has
no Auth0 profile snapshot yet (``auth0_profile_wanted``), it derives ``sync.requested.auth0``;
this stage reads ``GET /api/v2/users/{id}`` and publishes ``user.updated`` (source
``auth0-sync``) to ``authstream.events``, which the index stage folds like any full profile.

Deduplicated three ways: the profile remembers the request for a while (the next log records of
that user ask nothing while it waits in the queue), a batch asks once per user, and a lease in
Elasticsearch keeps two processes from asking for the same user at once. The client paces calls
and honours Auth0's rate limits; a circuit breaker keeps an outage to one probe at a time.
"""

import asyncio
import hashlib
import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog
from elasticsearch import AsyncElasticsearch

from consumers.auth0 import auth0_config
from consumers.auth0.client import ManagementClient
from consumers.auth0.logs import reconcile_logs
from consumers.auth0.snapshot import user_updated
from consumers.core.errors import (
    InvalidEvent,
    ThirdPartyAuthRejected,
    ThirdPartyRateLimited,
    ThirdPartyUnavailable,
)
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline import metrics
from consumers.pipeline.outcome import DONE, Emit, Handled, Outcome, park
from consumers.pipeline.schedule import Periodic
from consumers.profile.model import DerivedEvent, Profile
from consumers.stages.derived import Change, derived_event
from consumers.store.elastic import elasticsearch_errors
from consumers.store.state import StateStore
from consumers.thirdparty.circuit import CircuitBreaker
from consumers.thirdparty.http import most_telling
from schemas import Event

log = structlog.get_logger("authstream.auth0")

PROVIDER = "auth0"
REQUESTED = "sync.requested"
ROUTING_KEY = f"{REQUESTED}.auth0"
REQUEST_KEY = "auth0:profile"
# A request waiting in the queue (or answered "no such user") is not made again for this long.
REQUEST_WINDOW = timedelta(hours=6)
CONCURRENT_CALLS = 4
# Keys only a full Auth0 profile has (Action, Rule, Management API): Log Stream events never
# carry them.
SNAPSHOT_KEYS = ("created_at", "identities")


def has_auth0_profile(profile: Profile) -> bool:
    return any(key in profile.auth0 for key in SNAPSHOT_KEYS)


def is_auth0_user_id(user_id: str) -> bool:
    """Auth0 ids are ``<provider>|<id>``; the Log Stream's pseudo users and machines are not."""
    return "|" in user_id and not user_id.endswith("@clients")


def auth0_profile_wanted(change: Change, settings: Settings) -> list[DerivedEvent]:
    """A ``sync.requested.auth0`` when an Auth0 user's profile has no Auth0 snapshot yet."""
    profile = change.after
    if (
        profile.deleted_at is not None
        or not is_auth0_user_id(profile.user_id)
        or has_auth0_profile(profile)
    ):
        return []
    asked = profile.requested.get(REQUEST_KEY)
    if asked and datetime.fromisoformat(asked) > change.now - REQUEST_WINDOW:
        return []
    return [
        derived_event(
            REQUESTED,
            change.cause,
            profile.user_id,
            {"user_id": profile.user_id},
            ROUTING_KEY,
            (REQUEST_KEY, change.now.isoformat()),
        )
    ]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Auth0Stage:
    name = "auth0"

    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Settings,
        client: ManagementClient | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.es = es
        self.settings = settings
        self.names = Names(settings.name_prefix)
        self.tenant = auth0_config(settings).tenant
        self.client = client or ManagementClient.from_settings(settings)
        self.clock = clock
        self.state = StateStore(es, self.names)
        self.circuit = CircuitBreaker()
        self.holder = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._asking: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        every = settings.auth0_logs_every_s
        self.periodic: Sequence[Periodic] = (
            [Periodic("auth0-logs", timedelta(seconds=every), self.reconcile)] if every else []
        )
        metrics.CIRCUIT_OPEN.labels(PROVIDER).set(0)
        metrics.AUTH_REJECTED.labels(PROVIDER).set(0)

    async def handle(self, events: list[Event]) -> Handled:
        outcomes: list[Outcome] = [DONE] * len(events)
        wanted: dict[str, None] = {}  # the users asked for, once each, in order
        for position, event in enumerate(events):
            user_id = event.data.get("user_id") or event.user.user_id
            if not isinstance(user_id, str) or not is_auth0_user_id(user_id):
                outcomes[position] = park(f"not an Auth0 user id: {user_id!r}")
            else:
                wanted[user_id] = None
        gate = asyncio.Semaphore(CONCURRENT_CALLS)

        async def one(user_id: str) -> dict[str, Any] | None:
            async with gate:
                return await self._fetch_once(user_id)

        with elasticsearch_errors(self.settings):  # raised inside, so leases' errors translate
            results = await asyncio.gather(*(one(u) for u in wanted), return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                raise most_telling(failures)
        emits = []
        for user_id, user in zip(wanted, results, strict=True):
            if not isinstance(user, dict):
                log.info("Auth0 has no such user (deleted since?)", user_id=user_id)
                continue
            try:
                emits.append(self._finding(user))
            except InvalidEvent as exc:
                for position, event in enumerate(events):
                    if (event.data.get("user_id") or event.user.user_id) == user_id:
                        outcomes[position] = park(f"Auth0 answered an unusable user: {exc}")
        return Handled(outcomes, emits)

    async def _fetch_once(self, user_id: str) -> dict[str, Any] | None:
        """One call per user at a time in this process; later askers wait for the first."""
        asking = self._asking.get(user_id)
        if asking is not None:
            return await asyncio.shield(asking)
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._asking[user_id] = future
        try:
            user = await self._fetch(user_id)
            future.set_result(user)
            return user
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # marked as read: other askers re-raise it themselves
            raise
        finally:
            del self._asking[user_id]

    async def _fetch(self, user_id: str) -> dict[str, Any] | None:
        if not self.circuit.allow():
            metrics.CIRCUIT_OPEN.labels(PROVIDER).set(1)
            raise ThirdPartyUnavailable(
                f"Auth0 is failing; next probe in {self.circuit.retry_in_s:.0f} s"
            )
        # Hashed: a user id may be longer than an Elasticsearch document id may be.
        lease = f"lease:auth0:user:{hashlib.sha256(user_id.encode()).hexdigest()[:32]}"
        if not await self.state.lease(lease, self.holder, timedelta(minutes=1), self.clock()):
            raise ThirdPartyUnavailable("another worker is reading this user from Auth0")
        try:
            user = await self.client.get_user(user_id)
        except ThirdPartyAuthRejected:
            metrics.THIRD_PARTY_CALLS.labels(PROVIDER, "auth_rejected").inc()
            metrics.AUTH_REJECTED.labels(PROVIDER).set(1)
            log.error("Auth0 rejected the Management API credentials: holding the auth0 queue")
            raise
        except ThirdPartyRateLimited:
            metrics.THIRD_PARTY_CALLS.labels(PROVIDER, "rate_limited").inc()
            raise
        except ThirdPartyUnavailable:
            metrics.THIRD_PARTY_CALLS.labels(PROVIDER, "unavailable").inc()
            self.circuit.failed()
            metrics.CIRCUIT_OPEN.labels(PROVIDER).set(int(self.circuit.state != "closed"))
            raise
        finally:
            await self.state.release(lease)
        self.circuit.succeeded()
        metrics.CIRCUIT_OPEN.labels(PROVIDER).set(0)
        metrics.AUTH_REJECTED.labels(PROVIDER).set(0)
        metrics.THIRD_PARTY_CALLS.labels(PROVIDER, "ok" if user else "not_found").inc()
        return user

    def _finding(self, user: dict[str, Any]) -> Emit:
        envelope = user_updated(user, self.tenant, "profile-fetch")
        return Emit(
            self.names.exchange,
            "user.updated",
            orjson.dumps(envelope),
            envelope["event_id"],
            "user.updated",
        )

    async def reconcile(self, now: datetime) -> Sequence[Emit]:
        """The periodic job: publishes what the Log Stream missed itself (with confirms, before
        its cursor moves), so it hands nothing to the scheduler."""
        with elasticsearch_errors(self.settings):
            await reconcile_logs(self.settings, self.es, self.client)
        return []

    async def aclose(self) -> None:
        await self.client.aclose()
