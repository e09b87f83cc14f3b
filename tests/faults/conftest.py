"""Fixtures of the fault suite (``make test-faults``, marker ``faults``): a scenario run with every
stage and every third party, and the private clusters that scenarios may break. The table of
every scenario's outcome is printed at the end of the session.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.scenario import ROWS, FaultRun, third_parties
from tests.helpers import REPO_ROOT

SCRIPTS = REPO_ROOT / "deploy" / "local"


@pytest.fixture
def fault_run(settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FaultRun]:
    with third_parties() as apis:
        run = FaultRun(monkeypatch, tmp_path, apis)
        try:
            yield run
        finally:
            run.close()


class PrivateCluster:
    """A cluster started by deploy/local's scripts, which the scenarios may break."""

    def __init__(self, script: str, env: dict[str, str]) -> None:
        self.script, self.env = str(SCRIPTS / script), os.environ | env

    def __call__(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            ["bash", self.script, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(f"{self.script} {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout.strip()

    @property
    def urls(self) -> str:
        return self("urls")


def _cluster(script: str, env: dict[str, str]) -> Iterator[PrivateCluster]:
    if os.geteuid() != 0 or (shutil.which("java") is None and "elasticsearch" in script):
        pytest.fail(f"{script} needs root (and the services `make services` installs)")
    cluster = PrivateCluster(script, env)
    cluster("start")
    try:
        yield cluster
    finally:
        cluster("wipe")


@pytest.fixture(scope="session")
def rabbitmq_solo() -> Iterator[PrivateCluster]:
    """One private RabbitMQ node (port 5711): restarted and filled by scenarios at will."""
    yield from _cluster(
        "rabbitmq-cluster.sh",
        {
            "AUTHSTREAM_CLUSTER_NAME": "solo",
            "AUTHSTREAM_CLUSTER_NODES": "1",
            "AUTHSTREAM_CLUSTER_PORT": "5711",
        },
    )


@pytest.fixture(scope="session")
def rabbitmq_cluster() -> Iterator[PrivateCluster]:
    """Three private RabbitMQ nodes in one cluster (ports 5701-5703)."""
    yield from _cluster(
        "rabbitmq-cluster.sh",
        {
            "AUTHSTREAM_CLUSTER_NAME": "faults",
            "AUTHSTREAM_CLUSTER_NODES": "3",
            "AUTHSTREAM_CLUSTER_PORT": "5701",
        },
    )


@pytest.fixture(scope="session")
def elasticsearch_cluster() -> Iterator[PrivateCluster]:
    """Two private Elasticsearch nodes in one cluster (ports 9250-9251)."""
    yield from _cluster(
        "elasticsearch-cluster.sh",
        {"AUTHSTREAM_ES_CLUSTER_NAME": "faults", "AUTHSTREAM_ES_CLUSTER_PORT": "9250"},
    )


def pytest_terminal_summary(terminalreporter) -> None:
    if not ROWS:
        return
    header = (
        "scenario",
        "published",
        "indexed",
        "duplicates",
        "lost",
        "parked",
        "recovered in",
        "notes",
    )
    rows = [
        (
            r.scenario,
            f"{r.published:,}",
            f"{r.indexed:,}",
            str(r.duplicates),
            str(r.lost),
            r.parked,
            "—" if r.recover_s is None else f"{r.recover_s:.1f} s",
            r.note,
        )
        for r in ROWS
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    terminalreporter.section("fault suite: every scenario against its ground truth")
    for line in (header, *rows):
        terminalreporter.write_line(
            "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
        )
