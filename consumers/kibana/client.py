"""Kibana's saved objects import API (``POST /api/saved_objects/_import``), over httpx.

The objects go as one NDJSON file in a multipart form, with the ``kbn-xsrf`` header Kibana requires
of every write. Kibana answers 200 even when some objects failed (a missing reference, a
conflict): those come back one by one in ``errors`` and are reported as such. A Kibana that is still
starting (refused connections, 503) is waited for, up to ``wait_s``.
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from consumers.core.errors import ConfigurationError, ThirdPartyAuthRejected, ThirdPartyUnavailable
from consumers.core.settings import redact_url
from consumers.thirdparty.http import request

PROVIDER = "Kibana"
RETRY_EVERY_S = 2.0


@dataclass(frozen=True)
class KibanaTarget:
    url: str
    space: str | None = None
    api_key: str | None = None
    username: str | None = None
    password: str | None = None

    @property
    def shown(self) -> str:
        """The URL for messages: a password written into it is masked."""
        return redact_url(self.url)

    def api(self, path: str) -> str:
        space = f"/s/{self.space}" if self.space and self.space != "default" else ""
        return f"{self.url.rstrip('/')}{space}/api/{path}"

    def headers(self) -> dict[str, str]:
        headers = {"kbn-xsrf": "authstream"}
        if self.api_key:
            headers["Authorization"] = f"ApiKey {self.api_key}"
        return headers

    def auth(self) -> httpx.BasicAuth | None:
        if self.api_key or not self.username:
            return None
        return httpx.BasicAuth(self.username, self.password or "")


@dataclass
class ImportResult:
    imported: list[dict[str, Any]] = field(default_factory=list)  # {type, id, meta: {title}}
    errors: list[dict[str, Any]] = field(default_factory=list)

    def problems(self) -> list[str]:
        lines = []
        for error in self.errors:
            detail = error.get("error") or {}
            kind = detail.get("type", "error")
            what = f"{error.get('type')} {error.get('id')}"
            if kind == "missing_references":
                missing = ", ".join(f"{r['type']} {r['id']}" for r in detail.get("references", []))
                lines.append(f"{what}: refers to objects Kibana does not have: {missing}")
            elif kind == "conflict":
                lines.append(f"{what}: already exists (import again without --keep-existing)")
            else:
                lines.append(f"{what}: {kind} {detail.get('message', '')}".rstrip())
        return lines


async def _post(
    client: httpx.AsyncClient, target: KibanaTarget, ndjson: bytes, overwrite: bool
) -> httpx.Response:
    return await request(
        client,
        PROVIDER,
        "POST",
        target.api("saved_objects/_import"),
        handled=frozenset({200, 400, 404}),
        params={"overwrite": "true"} if overwrite else None,
        files={"file": ("authstream.ndjson", ndjson, "application/ndjson")},
    )


async def import_objects(
    target: KibanaTarget,
    ndjson: bytes,
    *,
    overwrite: bool = True,
    wait_s: float = 0.0,
    timeout_s: float = 30.0,
) -> ImportResult:
    deadline = time.monotonic() + wait_s
    async with httpx.AsyncClient(
        headers=target.headers(), auth=target.auth(), timeout=timeout_s
    ) as client:
        while True:
            try:
                response = await _post(client, target, ndjson, overwrite)
                break
            except ThirdPartyAuthRejected:
                raise ConfigurationError(
                    f"Kibana at {target.shown} refused the credentials: check "
                    "AUTHSTREAM_KIBANA_API_KEY or AUTHSTREAM_KIBANA_USERNAME/_PASSWORD"
                ) from None
            except ThirdPartyUnavailable:
                if time.monotonic() + RETRY_EVERY_S > deadline:
                    raise
                await asyncio.sleep(RETRY_EVERY_S)  # still starting: ask again
    body = response.json()
    if response.status_code != 200:
        message = body.get("message") if isinstance(body, dict) else None
        where = f" (space {target.space!r})" if target.space else ""
        raise ConfigurationError(
            f"Kibana at {target.shown}{where} refused the import ({response.status_code}): "
            f"{message or response.text[:200]}"
        )
    return ImportResult(body.get("successResults", []), body.get("errors", []))
