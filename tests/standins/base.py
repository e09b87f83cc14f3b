"""The shared base of the local HTTP stand-ins of third-party APIs.

Why a real server: a mock object would skip the client's real HTTP stack (timeouts, retries,
connection reuse, headers), which is exactly where integrations break. Each stand-in listens on
127.0.0.1 with an ephemeral port, is started and stopped as a context manager and is reached at
``.base_url``. It keeps a thread-safe log of what it received and lets a test script faults that
apply before the stand-in's own logic, to the next K matching requests or (``times=None``) to all
of them until ``clear_faults()``:

* ``fail(status, ...)``: answer that status with the given headers and body;
* ``slow(seconds)``: hold the request that long (longer than the client's timeout), then answer
  normally if the client is still there; ``stop()`` wakes held requests at once;
* ``reset()``: read the request, then close the connection with a TCP RST (SO_LINGER 0), as a
  crashing server does: the client sees a reset or "server disconnected" error mid-request;
* ``refuse()`` / ``restore()``: close the listening socket and every open connection, so new
  connections are refused (ECONNREFUSED) as for a service that is down; ``restore()`` listens
  again on the same port.

Waiting uses a condition variable with a deadline (never a bare sleep); every received request
and every sent answer wakes the waiters, so counters kept by a stand-in can be awaited too.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self, cast
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as sent, without the query string (still percent-encoded)
    query: dict[str, str]  # first value of each parameter
    query_lists: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any  # the body parsed as JSON, or None
    received_at: float  # time.monotonic(), comparable across requests
    fault: str | None = None  # the scripted fault that answered it, if any


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(
    status: int,
    payload: Any,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json; charset=utf-8",
) -> Reply:
    all_headers = {"Content-Type": content_type, **(headers or {})}
    return Reply(status, json.dumps(payload).encode(), all_headers)


@dataclass
class _Fault:
    kind: Literal["fail", "slow", "reset"]
    remaining: int | None  # None: until cleared
    path_prefix: str | None
    reply: Reply | None = None
    delay: float = 0.0


class WindowLimiter:
    """A fixed-window request budget (``limit`` per ``window`` seconds), as X and FullContact
    announce theirs; ``None`` means unlimited. ``take`` answers (allowed, remaining, reset
    epoch)."""

    def __init__(self, limit: int | None, window: float) -> None:
        self.limit, self.window = limit, window
        self._start, self._used = time.time(), 0
        self._lock = threading.Lock()

    def reset_at(self) -> float:
        with self._lock:
            self._roll()
            return self._start + self.window

    def _roll(self) -> None:
        if time.time() >= self._start + self.window:
            self._start, self._used = time.time(), 0

    def take(self) -> tuple[bool, int, float]:
        with self._lock:
            self._roll()
            limit = self.limit if self.limit is not None else 1_000_000
            allowed = self._used < limit
            self._used += allowed
            return allowed, max(limit - self._used, 0), self._start + self.window


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a held ("slow") request must not block shutdown
    allow_reuse_address = True  # restore() binds the same port again

    def __init__(self, port: int, standin: StandIn) -> None:
        self.standin = standin
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.open_lock:
            self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.open_lock:
            self.open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (timeout, reset) is expected here: stay quiet."""

    def cut_connections(self) -> None:
        with self.open_lock:
            for sock in list(self.open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs and pooled clients use
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def _body(self) -> bytes:
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        chunks = []  # streaming clients send chunked bodies: read them whole
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _serve(self) -> None:
        body = self._body()
        standin = cast(_Server, self.server).standin
        reply = standin._serve(self.command, self.path, dict(self.headers.items()), body)
        if reply is None:  # scripted reset
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.close()
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        standin._answered()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class StandIn:
    """Base of every stand-in: subclasses implement ``handle`` (and may override the
    ``on_start``/``on_finish`` hooks that bracket each request, faults included)."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._cond = threading.Condition()
        self._faults: list[_Fault] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self.port = 0
        self.tls: ssl.SSLContext | None = None  # a stand-in that speaks HTTPS sets this

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._stopping.clear()
        self._server = _Server(self.port, self)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes requests held by a "slow" fault
        self.refuse()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refuse(self) -> None:
        """Go down: refuse new connections and cut the open ones, until ``restore()``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.cut_connections()
            self._server = None

    def restore(self) -> None:
        if self._server is None:
            self.start()

    # -- fault scripting -----------------------------------------------------------------
    def fail(
        self,
        status: int,
        *,
        times: int | None = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Answer ``status``; a non-bytes ``body`` is sent as JSON."""
        if body is None or isinstance(body, bytes):
            reply = Reply(status, body or b"", dict(headers or {}))
        else:
            reply = json_reply(status, body, headers)
        self._add(_Fault("fail", times, path_prefix, reply=reply))

    def slow(
        self,
        seconds: float,
        *,
        times: int | None = 1,
        path_prefix: str | None = None,
    ) -> None:
        self._add(_Fault("slow", times, path_prefix, delay=seconds))

    def reset(self, *, times: int | None = 1, path_prefix: str | None = None) -> None:
        self._add(_Fault("reset", times, path_prefix))

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    def _add(self, fault: _Fault) -> None:
        with self._cond:
            self._faults.append(fault)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.path_prefix is None or path.startswith(fault.path_prefix):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # -- request log and waiting ---------------------------------------------------------
    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        with self._cond:
            return [
                r
                for r in self.requests
                if r.path.startswith(path_prefix) and (method is None or r.method == method)
            ]

    def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        what: str = "",
    ) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")

    def wait_for_requests(
        self,
        n: int,
        path_prefix: str = "/",
        method: str | None = None,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        def enough() -> bool:
            return len(self.requests_to(path_prefix, method)) >= n

        try:
            self.wait_until(enough, timeout)
        except AssertionError:
            got = [(r.method, r.path) for r in self.requests_to(path_prefix, method)]
            raise AssertionError(
                f"expected {n} requests to {path_prefix} within {timeout}s, got {len(got)}: {got}"
            ) from None
        return self.requests_to(path_prefix, method)

    def max_requests_within(self, seconds: float, path_prefix: str = "/") -> int:
        """Most requests received inside any sliding window of ``seconds`` (rate assertions)."""
        times = sorted(r.received_at for r in self.requests_to(path_prefix))
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError

    def on_start(self, request: RecordedRequest) -> None:
        """Hook: a request arrived (before faults)."""

    def on_finish(self, request: RecordedRequest) -> None:
        """Hook: its answer is decided (after faults)."""

    def _serve(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
    ) -> Reply | None:
        parts = urlsplit(target)
        lists = parse_qs(parts.query, keep_blank_values=True)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        fault = self._take_fault(parts.path)
        request = RecordedRequest(
            method,
            parts.path,
            {k: v[0] for k, v in lists.items()},
            lists,
            {k.lower(): v for k, v in headers.items()},
            body,
            parsed,
            time.monotonic(),
            fault.kind if fault else None,
        )
        with self._cond:
            self.requests.append(request)
            self._cond.notify_all()
        self.on_start(request)
        try:
            if fault is not None and fault.kind == "reset":
                return None
            if fault is not None and fault.kind == "slow" and self._stopping.wait(fault.delay):
                return None  # stopping: drop the held request
            if fault is not None and fault.reply is not None:
                return fault.reply
            try:
                return self.handle(request)
            except Exception as error:  # a stand-in bug must show up in the test, not hang it
                return json_reply(500, {"standin_error": repr(error)})
        finally:
            self.on_finish(request)

    def _answered(self) -> None:
        with self._cond:
            self._cond.notify_all()
