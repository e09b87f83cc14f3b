"""What keeps the ingest endpoint standing in front of the internet: a real token, a cap on
concurrent requests, time limits for slow clients, and clear 4xx answers for bad requests.

Auth0 sends the Log Stream's Authorization token as configured; anyone who finds the URL sends
something else. Every refusal is a 4xx with a reason (401 never turns into 500 because a header
could not be decoded), and nobody can hold the server with slow headers (aiohttp's keep-alive
timeout closes a connection that has not completed a request, ``serve`` sets it) or a slow body.
"""

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestPayloadError

from consumers.core.errors import ConfigurationError

MIN_TOKEN_CHARS = 16
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def required_token(value: str | None, variable: str) -> str:
    """The token, if it is a real one: long enough and not blank (docker compose passes an
    empty string for an unset variable)."""
    token = (value or "").strip()
    if len(token) < MIN_TOKEN_CHARS:
        state = "is not set" if not token else f"is shorter than {MIN_TOKEN_CHARS} characters"
        raise ConfigurationError(
            f"{variable} {state}: choose a long random token (e.g. `openssl rand -hex 32`) and "
            "give the sender the same value"
        )
    return token


def authorized(header: str | None, token: str) -> bool:
    """Auth0 sends the configured token as is; accept it with or without ``Bearer ``. A header
    that is empty once stripped, or that cannot be encoded, is simply not authorized."""
    if not header:
        return False
    presented = header.removeprefix("Bearer ").strip()
    if not presented:
        return False
    try:
        return hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8"))
    except UnicodeError:  # surrogates from undecodable bytes
        return False


async def read_body(request: web.Request, timeout_s: float) -> bytes | web.Response:
    """The (decompressed) body, or the 4xx answer that explains why not."""
    try:
        return await asyncio.wait_for(request.read(), timeout_s)
    except TimeoutError:
        return web.json_response(
            {"error": f"the body did not arrive within {timeout_s:g} s"}, status=408
        )
    except RequestPayloadError as exc:  # e.g. a gzip body that is not gzip
        reason = " ".join(str(exc).split())  # "400, message: Can not decode content-encoding: gzip"
        return web.json_response({"error": f"unreadable body ({reason})"}, status=400)
    except web.HTTPRequestEntityTooLarge:  # also a small compressed body that expands past it
        limit = request.client_max_size
        return web.json_response(
            {"error": f"the body is over {limit:,} bytes (AUTHSTREAM_INGEST_MAX_BYTES)"},
            status=413,
        )


def concurrency_limit(limit: int) -> Middleware:
    """At most ``limit`` requests at once; beyond that 503 with Retry-After, at once."""
    in_flight = 0

    @web.middleware
    async def limited(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal in_flight
        if in_flight >= limit:
            return web.json_response(
                {"error": "too many requests at once, retry later"},
                status=503,
                headers={"Retry-After": "1"},
            )
        in_flight += 1
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    return limited
