"""httpx for third-party APIs, with its exceptions and status codes translated once, here.

``request`` answers with the response for the statuses a client handles itself (200, 404, ...)
and raises the authstream error for the rest: 401/403 → ``ThirdPartyAuthRejected``, 429 →
``ThirdPartyRateLimited`` (with the wait the API asked for), 5xx, timeouts and connection errors
→ ``ThirdPartyUnavailable``. Messages never contain credentials: only the provider and status.
"""

import email.utils
import time
from typing import Any

import httpx

from consumers.core.errors import (
    ThirdPartyAuthRejected,
    ThirdPartyRateLimited,
    ThirdPartyUnavailable,
)

# Rate-limit reset headers, as FullContact, X and Auth0 spell them.
RESET_HEADERS = ("x-rate-limit-reset", "x-ratelimit-reset")


def pooled_client(base_url: str, timeout_s: float, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        timeout=httpx.Timeout(timeout_s),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
    )


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds or an HTTP date) or a reset header (epoch
    seconds, or seconds from now when it is small)."""
    now = time.time() if now is None else now
    value = response.headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is not None:
            return max(0.0, parsed.timestamp() - now)
    for header in RESET_HEADERS:
        reset = response.headers.get(header)
        if reset and reset.strip().isdigit():
            seconds = float(reset)
            # Epoch seconds are big; FullContact sends "seconds until reset" instead.
            return max(0.0, seconds - now) if seconds > 1e9 else seconds
    return None


async def request(
    client: httpx.AsyncClient,
    provider: str,
    method: str,
    url: str,
    handled: frozenset[int] = frozenset({200}),
    **kwargs: Any,
) -> httpx.Response:
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise ThirdPartyUnavailable(f"{provider} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise ThirdPartyUnavailable(f"{provider} is unreachable: {type(exc).__name__}") from None
    status = response.status_code
    if status in handled:
        return response
    if status in (401, 403):
        raise ThirdPartyAuthRejected(
            f"{provider} rejected the credentials ({status}): check the API key"
        )
    if status == 429:
        raise ThirdPartyRateLimited(f"{provider} asks us to slow down (429)", retry_after(response))
    if status >= 500 or status == 408:
        raise ThirdPartyUnavailable(f"{provider} answered {status}", retry_after(response))
    return response  # another 4xx: the caller decides what it means for this request


def most_telling(failures: list[BaseException]) -> BaseException:
    """Of several failed calls, the failure that says most about what to do: rejected
    credentials, then rate limits, then outages."""
    for kind in (ThirdPartyAuthRejected, ThirdPartyRateLimited, ThirdPartyUnavailable):
        for failure in failures:
            if isinstance(failure, kind):
                return failure
    return failures[0]
