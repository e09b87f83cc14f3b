"""A one-line progress display for long commands: on a terminal only, quiet when piped."""

import sys
import time
from typing import TextIO

REDRAW_EVERY_S = 0.1


class Progress:
    def __init__(self, label: str, total_bytes: int | None, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.total_bytes = total_bytes
        self.stream = stream
        self.enabled = stream.isatty()
        self.started = time.monotonic()
        self._drawn_at = 0.0

    def update(self, done_bytes: int, count: int, failed: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._drawn_at < REDRAW_EVERY_S):
            return
        self._drawn_at = now
        rate = count / max(now - self.started, 1e-6)
        line = f"{self.label}: {count:,} ({rate:,.0f}/s)"
        if failed:
            line += f", {failed:,} failed"
        if self.total_bytes:
            share = min(done_bytes / self.total_bytes, 1.0)
            filled = int(share * 30)
            line = f"[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} {line}"
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
