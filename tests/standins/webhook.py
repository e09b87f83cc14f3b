"""A generic webhook receiver for "destinations" (segment events sent to marketing tools).

It records every request with its headers and *raw* body, because a signature is computed over
the exact bytes sent (re-serialising the JSON would change them), and answers ``status`` (200 by
default) with a small JSON body. The base's fault scripting applies: ``fail(500, times=2)`` makes
the next two deliveries fail, ``slow(...)``, ``reset()``, ``refuse()`` likewise.

The signature helpers assume the common scheme "HMAC-SHA256 of the raw body, hex, in a header,
optionally prefixed (``sha256=``)"; a destination that signs ``timestamp + "." + body`` (as some
tools do) can pass that payload to ``hmac_sha256_hex`` itself.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from tests.standins.base import RecordedRequest, Reply, StandIn, json_reply


def hmac_sha256_hex(secret: str | bytes, payload: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


class WebhookReceiver(StandIn):
    def __init__(self, *, status: int = 200) -> None:
        super().__init__()
        self.status = status

    def handle(self, request: RecordedRequest) -> Reply:
        if request.method != "POST":
            return json_reply(405, {"error": "method not allowed"})
        return json_reply(self.status, {"received": True})

    @property
    def deliveries(self) -> list[RecordedRequest]:
        """Every POST received, including those answered by a scripted fault."""
        return self.requests_to("/", "POST")

    def bodies(self) -> list[Any]:
        return [d.json for d in self.deliveries]

    def wait_for_deliveries(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        return self.wait_for_requests(n, "/", "POST", timeout)

    @staticmethod
    def signature_ok(
        delivery: RecordedRequest,
        secret: str | bytes,
        header: str = "x-signature",
        prefix: str = "sha256=",
    ) -> bool:
        """Does ``header`` carry ``prefix`` + HMAC-SHA256(secret, raw body)? Constant-time."""
        given = delivery.headers.get(header.lower(), "")
        expected = prefix + hmac_sha256_hex(secret, delivery.body)
        return hmac.compare_digest(given.encode(), expected.encode())
