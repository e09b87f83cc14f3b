"""CPU time per process, read from ``/proc``: the figure that travels between machines better
than events per second, because it does not depend on what else shares the cores.

The services are found by the port they listen on (RabbitMQ's AMQP port, Elasticsearch's HTTP
port), so the figures are theirs whether ``make services`` or something else started them; on
another host they cannot be read and are reported as missing.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
LISTEN = "0A"


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (all its threads) so far; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == LISTEN and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    return inodes


def pid_listening_on(port: int) -> int | None:
    """The local process that listens on ``port``, if this machine runs it and we may see it."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(entry.name)
        except OSError:
            continue
    return None


def service_pids(amqp_url: str, elasticsearch_url: str) -> dict[str, int]:
    """RabbitMQ's and Elasticsearch's pids, when they run on this machine."""
    found = {}
    for name, url, default in (
        ("rabbitmq", amqp_url.split(",")[0], 5672),
        ("elasticsearch", elasticsearch_url.split(",")[0], 9200),
    ):
        parts = urlsplit(url)
        if parts.hostname in ("127.0.0.1", "localhost", "::1"):
            pid = pid_listening_on(parts.port or default)
            if pid is not None:
                found[name] = pid
    return found


@dataclass
class CpuMeter:
    """CPU spent by named processes between ``start`` and ``stop``."""

    pids: Mapping[str, int]

    def __post_init__(self) -> None:
        self.started: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def start(self) -> "CpuMeter":
        self.started = {n: s for n, p in self.pids.items() if (s := cpu_seconds(p)) is not None}
        return self

    def stop(self) -> dict[str, float]:
        """Seconds of CPU per process since ``start``."""
        for name, before in self.started.items():
            now = cpu_seconds(self.pids[name])
            if now is not None:
                self.spent[name] = now - before
        return self.spent

    def per_event_ms(self, events: int) -> dict[str, float]:
        return {n: round(s * 1000 / events, 3) for n, s in self.spent.items()} if events else {}
