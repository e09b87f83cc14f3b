"""`authstream ingest` serving the shop collector, in a subprocess, for integration tests."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from consumers.core.settings import Settings
from tests.ingest_process import ingest_process

KEY_WEB = "web-key-3b9d6c0e8f4a2d71"
KEY_APP = "app-key-9f2e4b7a1c6d8e05"
ORIGIN = "https://shop.innovashoes.example"


@contextmanager
def collector(settings: Settings, **env: str) -> Iterator[str]:
    """The collector only (no Log Stream token): its base URL while it runs."""
    keys = {
        "AUTHSTREAM_COLLECT_KEYS": f"shop-web:{KEY_WEB},shop-app:{KEY_APP}",
        "AUTHSTREAM_COLLECT_ORIGINS": ORIGIN,
        "AUTHSTREAM_COLLECT_TENANT": "innovashoes",
    }
    with ingest_process(keys | env, without=("AUTHSTREAM_INGEST_TOKEN",)) as url:
        yield url


def send(
    url: str,
    events: list[dict[str, Any]] | bytes,
    key: str | None = KEY_WEB,
    origin: str | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if origin is not None:
        headers["Origin"] = origin
    body = events if isinstance(events, bytes) else orjson.dumps(events)
    return httpx.post(f"{url}/v1/events", content=body, headers=headers, timeout=10)
