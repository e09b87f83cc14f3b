"""An HTTP proxy in front of Elasticsearch that misbehaves the way a busy cluster does.

* ``reject_share``: that share of the items of each ``_bulk`` is answered 429
  (``es_rejected_execution_exception``) *without being sent on*, as a node whose write queue is
  full answers for the items it did not take; the other items go to Elasticsearch and their real
  answers are merged back in order. The bulk as a whole succeeds: a partial failure.
* ``after_bulk``: called once Elasticsearch has answered a ``_bulk`` (every item durable) and
  before the client gets that answer, so a scenario can cut the client's broker connection in
  that window: the writes are done, the ack can never be sent.

Everything else passes through untouched. It runs its own event loop in a thread.
"""

import asyncio
import random
import threading
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web

REJECTED = {
    "type": "es_rejected_execution_exception",
    "reason": "rejected execution of coordinating operation (the fault suite's proxy)",
}
PASSED_BACK = {"content-type", "x-elastic-product", "warning"}
DROPPED_HEADERS = {"host", "content-length", "accept-encoding", "transfer-encoding", "connection"}


def split_bulk(body: bytes) -> list[tuple[bytes, bytes | None]]:
    """NDJSON bulk body → (action line, source line or None for a delete) per item."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    items, i = [], 0
    while i < len(lines):
        action = lines[i]
        if b'"delete"' in action.split(b":", 1)[0]:
            items.append((action, None))
            i += 1
        else:
            items.append((action, lines[i + 1]))
            i += 2
    return items


def rejected_item(action_line: bytes) -> dict[str, Any]:
    action = orjson.loads(action_line)
    op, meta = next(iter(action.items()))
    return {
        op: {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": 429, "error": REJECTED}
    }


class ElasticsearchProxy:
    def __init__(self, target: str, *, seed: int | None = None) -> None:
        self.target = target.rstrip("/")
        self.reject_share = 0.0
        self.after_bulk: Callable[[int], None] | None = None  # gets the bulk's number
        self.bulks = 0
        self.rejected = 0
        self.forwarded = 0
        self._rng = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ElasticsearchProxy":
        threading.Thread(target=self._serve, daemon=True, name="es proxy").start()
        if not self._ready.wait(10):
            raise RuntimeError("the Elasticsearch proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=True)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(
        self, request: web.Request, body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}
        async with self._session.request(
            request.method, self.target + request.rel_url.raw_path_qs, data=body, headers=headers
        ) as answer:
            # The client checks X-Elastic-Product on every answer: keep it, and the content type.
            kept = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_BACK}
            return answer.status, await answer.read(), kept

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not request.path.endswith("/_bulk"):
            status, answer, headers = await self._forward(request, body)
            return web.Response(status=status, body=answer, headers=headers)
        self.bulks += 1
        number = self.bulks
        items = split_bulk(body)
        rejected = {i for i in range(len(items)) if self._rng.random() < self.reject_share}
        kept = [item for i, item in enumerate(items) if i not in rejected]
        answered: list[Any] = []
        headers = {"Content-Type": "application/json", "X-Elastic-Product": "Elasticsearch"}
        if kept:
            payload = b"\n".join(b"\n".join(p for p in item if p is not None) for item in kept)
            status, raw, headers = await self._forward(request, payload + b"\n")
            if status != 200:
                return web.Response(status=status, body=raw, headers=headers)
            answered = list(orjson.loads(raw).get("items", []))
            self.forwarded += len(kept)
        merged, answers = [], iter(answered)
        for i, (action, _) in enumerate(items):
            merged.append(rejected_item(action) if i in rejected else next(answers))
        self.rejected += len(rejected)
        if self.after_bulk is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.after_bulk, number)
        reply = {"errors": True, "items": merged} if rejected else {"items": merged}
        return web.Response(status=200, body=orjson.dumps(reply), headers=headers)
