"""The Auth0 Management API v2 client: a client-credentials token, paced and polite calls.

- The token comes from ``POST /oauth/token`` and is kept until shortly before it expires; an
  answer of 401 (expired or revoked token) gets one fresh token and one more try.
- Calls are paced (``AUTHSTREAM_AUTH0_RPS``); when Auth0's ``x-ratelimit-remaining`` reaches 0,
  every call waits for ``x-ratelimit-reset``; a 429 waits the same way and asks again (a few
  times, then ``ThirdPartyRateLimited``). 5xx and timeouts get two quick retries.
- 403 means a scope is missing: ``ThirdPartyAuthRejected`` with Auth0's message, which names it.
- The export file is downloaded with a client that carries no credentials: it is served from
  another host (a signed storage URL), which must never see the Management API token.
"""

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import structlog

from consumers.auth0 import Auth0Config, auth0_config
from consumers.core.errors import (
    ThirdPartyAuthRejected,
    ThirdPartyRateLimited,
    ThirdPartyUnavailable,
)
from consumers.core.settings import Settings
from consumers.thirdparty.http import pooled_client, request, retry_after
from consumers.thirdparty.limits import RateLimiter

log = structlog.get_logger("authstream.auth0")

PROVIDER = "Auth0"
RATE_LIMIT_WAITS = 8  # 429s in a row before giving up on a call
LONGEST_WAIT_S = 60.0  # a reset further away than this is not waited for inside one call
QUICK_RETRIES = (0.5, 1.5)  # seconds before jitter, for 5xx and timeouts
DOWNLOAD_CHUNK = 1 << 16


@dataclass
class CallStats:
    requests: int = 0
    tokens: int = 0
    rate_limited: int = 0  # 429 answers, each followed by a wait


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error_description") or body.get("error"))
    return str(body)[:200]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ThirdPartyUnavailable(
            f"Auth0 answered {response.status_code} with a body that is not JSON"
        ) from None


class ManagementClient:
    def __init__(
        self,
        config: Auth0Config,
        timeout_s: float = 15.0,
        rps: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.api = pooled_client(config.base_url, timeout_s, {"Accept": "application/json"})
        self.downloads = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=True)
        self.limiter = RateLimiter(rps)
        self.clock = clock
        self.stats = CallStats()
        self._token: str | None = None
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "ManagementClient":
        return cls(auth0_config(settings), settings.auth0_timeout_s, settings.auth0_rps)

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.downloads.aclose()

    # -- the token --------------------------------------------------------------------------

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is not None and self.clock() < self._token_until:
                return self._token
            self.stats.tokens += 1
            response = await request(
                self.api,
                PROVIDER,
                "POST",
                "/oauth/token",
                handled=frozenset({200, 400, 401, 403}),
                json={
                    "grant_type": "client_credentials",
                    "client_id": self.config.client_id,
                    "client_secret": self.config.client_secret.get_secret_value(),
                    "audience": self.config.audience,
                },
            )
            if response.status_code != 200:
                raise ThirdPartyAuthRejected(
                    f"Auth0 refused a Management API token ({response.status_code}: "
                    f"{_message(response)}): check AUTHSTREAM_AUTH0_CLIENT_ID/_CLIENT_SECRET and "
                    f"that the application is authorized for the audience {self.config.audience}"
                )
            body = _json(response)
            lifetime = float(body.get("expires_in") or 86_400)
            # Renewed a little early, so a token never expires between the check and the call.
            self._token = str(body["access_token"])
            self._token_until = self.clock() + lifetime - min(60.0, lifetime / 10)
            return self._token

    # -- one call ---------------------------------------------------------------------------

    def _observe(self, response: httpx.Response) -> float | None:
        """Pause every caller when the bucket is empty; the wait Auth0 asks for, if any."""
        remaining = response.headers.get("x-ratelimit-remaining", "").strip()
        wait = retry_after(response)
        if (response.status_code == 429 or remaining == "0") and wait is not None:
            self.limiter.pause_for(min(wait, LONGEST_WAIT_S))
        return wait

    async def call(
        self,
        method: str,
        path: str,
        *,
        handled: frozenset[int] = frozenset({200}),
        **kwargs: Any,
    ) -> httpx.Response:
        refreshed, waits, pauses = False, 0, list(QUICK_RETRIES)
        while True:
            await self.limiter.acquire()
            token = await self._access_token()
            self.stats.requests += 1
            try:
                response = await request(
                    self.api,
                    PROVIDER,
                    method,
                    path,
                    handled=handled | {401, 403, 429},
                    headers={"Authorization": f"Bearer {token}"},
                    **kwargs,
                )
            except ThirdPartyUnavailable as exc:
                if not pauses:
                    raise
                await asyncio.sleep(pauses.pop(0) * (0.5 + random.random()))
                log.info("Auth0 did not answer; trying again", path=path, error=str(exc))
                continue
            wait = self._observe(response)
            status = response.status_code
            if status == 401 and not refreshed:
                refreshed, self._token = True, None  # expired or revoked: one fresh token
                continue
            if status in (401, 403):
                raise ThirdPartyAuthRejected(
                    f"Auth0 refused {method} {path} ({status}: {_message(response)}); give the "
                    "Machine-to-Machine application the scopes the README lists"
                )
            if status == 429:
                self.stats.rate_limited += 1
                if waits >= RATE_LIMIT_WAITS or (wait or 0) > LONGEST_WAIT_S:
                    raise ThirdPartyRateLimited("Auth0 rate limit reached (429)", wait)
                waits += 1
                if wait is None:
                    self.limiter.pause_for(1.0)
                continue
            return response

    # -- endpoints --------------------------------------------------------------------------

    async def search_users(self, params: dict[str, str]) -> Any:
        """``GET /api/v2/users`` with search v3; a list, or a dict with ``include_totals``."""
        answer = await self.call("GET", "/api/v2/users", params={"search_engine": "v3", **params})
        return _json(answer)

    async def count_users(self, query: str) -> int:
        body = await self.search_users(
            {"q": query, "per_page": "1", "page": "0", "include_totals": "true"}
        )
        return int(body.get("total", 0)) if isinstance(body, dict) else len(body)

    async def get_user(self, user_id: str) -> dict[str, Any] | None:
        """One user, or None when Auth0 has no such user (deleted since)."""
        path = "/api/v2/users/" + quote(user_id, safe="")
        answer = await self.call("GET", path, handled=frozenset({200, 404}))
        if answer.status_code == 404:
            return None
        body = _json(answer)
        return body if isinstance(body, dict) else None

    async def create_users_export(self, fields: list[str]) -> dict[str, Any]:
        body = {"format": "json", "fields": [{"name": name} for name in fields]}
        answer = await self.call(
            "POST", "/api/v2/jobs/users-exports", handled=frozenset({200, 201}), json=body
        )
        return dict(_json(answer))

    async def get_job(self, job_id: str) -> dict[str, Any] | None:
        answer = await self.call(
            "GET", "/api/v2/jobs/" + quote(job_id, safe=""), handled=frozenset({200, 404})
        )
        return None if answer.status_code == 404 else dict(_json(answer))

    async def download(self, url: str, into: IO[bytes]) -> int:
        """Write the file at ``url`` into ``into``, chunk by chunk; its size in bytes."""
        size = 0
        try:
            async with self.downloads.stream("GET", url) as response:
                if response.status_code != 200:
                    raise ThirdPartyUnavailable(
                        f"the Auth0 export file answered {response.status_code}"
                    )
                async for chunk in response.aiter_raw(DOWNLOAD_CHUNK):
                    into.write(chunk)
                    size += len(chunk)
        except httpx.HTTPError as exc:
            raise ThirdPartyUnavailable(
                f"the Auth0 export file could not be downloaded: {type(exc).__name__}"
            ) from None
        return size

    async def logs_after(self, log_id: str, take: int = 100) -> tuple[list[dict[str, Any]], str]:
        """Logs after ``log_id`` in log_id order, and the ``from`` of the next page (Auth0's
        ``Link: <...>; rel="next"``, or the last log_id when there is none)."""
        answer = await self.call("GET", "/api/v2/logs", params={"from": log_id, "take": str(take)})
        logs = [entry for entry in _json(answer) or [] if isinstance(entry, dict)]
        following = _next_from(answer.headers.get("link", ""))
        if following is None:
            following = str(logs[-1].get("log_id")) if logs else log_id
        return logs, following

    async def oldest_log(self) -> dict[str, Any] | None:
        """The oldest log Auth0 still keeps: where a first reconciliation starts."""
        answer = await self.call(
            "GET", "/api/v2/logs", params={"sort": "date:1", "per_page": "1", "page": "0"}
        )
        found = _json(answer)
        return found[0] if isinstance(found, list) and found else None


def _next_from(link: str) -> str | None:
    for part in link.split(","):
        if 'rel="next"' in part and "<" in part and ">" in part:
            url = part[part.index("<") + 1 : part.index(">")]
            values = parse_qs(urlsplit(url).query).get("from")
            if values:
                return values[0]
    return None
