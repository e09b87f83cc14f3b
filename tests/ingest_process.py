"""`authstream ingest` in a subprocess on a free port, for the integration tests of its endpoints
(Log Stream, shop collector): its base URL while it runs."""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from consumers.bench.indexer import free_port
from tests.helpers import eventually


@contextmanager
def ingest_process(env: Mapping[str, str], without: tuple[str, ...] = ()) -> Iterator[str]:
    """Started with this environment over the test's own (less the ``without`` variables), and
    stopped afterwards. Its log goes to a file, not a pipe: nobody reads a pipe while the test
    runs, and a server that has filled one (an access log line per request) hangs on its next
    log line."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in without} | dict(env)
    with tempfile.TemporaryFile("w+") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "consumers.cli", "ingest", "--port", str(port)],
            env=environment,
            stderr=log_file,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"

        def listening() -> bool:
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                return True
            except httpx.TransportError:
                log_file.seek(0)
                assert process.poll() is None, log_file.read()
                return False

        try:
            eventually(listening, message="ingest listening")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
