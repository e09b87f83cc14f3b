"""Every stage as a real ``authstream run --stage NAME`` process, which a scenario can kill.

One process per stage, as the SRE runs them; ``kill`` is SIGKILL (no draining, no goodbye), and
``start`` brings a stage back as a supervisor would. Each process writes its log to a file in the
test's directory (shown when a scenario fails).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

STAGES = ("index", "enrich", "auth0", "sentiment", "segments", "destinations")


class StageProcesses:
    def __init__(
        self,
        env: Mapping[str, str],
        logs: Path,
        stages: tuple[str, ...] = STAGES,
        overrides: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.env, self.logs, self.stages = dict(env), logs, stages
        self.overrides = {name: dict(values) for name, values in (overrides or {}).items()}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._files: list[IO[bytes]] = []
        self.kills = 0
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, stage: str) -> None:
        log = (self.logs / f"{stage}.log").open("ab")
        self._files.append(log)
        env = self.env | self.overrides.get(stage, {})
        self.processes[stage] = subprocess.Popen(
            [sys.executable, "-m", "consumers.cli", "run", "--stage", stage],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_all(self) -> None:
        for stage in self.stages:
            self.start(stage)

    def kill(self, stage: str) -> None:
        process = self.processes[stage]
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        self.kills += 1

    def check_alive(self) -> None:
        """A stage that exited by itself is a failure of the scenario (its log says why)."""
        for stage, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.logs / f"{stage}.log").read_bytes()[-3000:].decode(errors="replace")
                raise AssertionError(f"the {stage} stage exited ({process.returncode}):\n{tail}")

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for log in self._files:
            log.close()

    def log_tails(self, chars: int = 1500) -> str:
        parts = []
        for stage in self.processes:
            text = (self.logs / f"{stage}.log").read_bytes()[-chars:].decode(errors="replace")
            parts.append(f"--- {stage} ---\n{text}")
        return "\n".join(parts)


def stage_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The test's environment (the ``settings`` fixture put its AUTHSTREAM_* there) plus
    ``extra``; logs as JSON lines at info, so the files show reconnects and holds."""
    return dict(os.environ) | {"AUTHSTREAM_LOG_FORMAT": "json"} | dict(extra)
