"""The benchmarks' ``authstream`` processes, watched: when one dies, the run says which, how, and
what it last wrote.

A 200,000-event run once lost its segments process midway: the harness went on waiting for the
segments queue to drain, was interrupted after 9 minutes, and nobody learnt why the process had
gone (its output was not kept). Now every child's stderr is passed through to the harness's own
as it comes, its last lines are kept, and the waits check their processes: a child that exits
while it should be working stops the run with ``StageDied``, whose message names the process,
its exit status or signal (SIGKILL is what the kernel's OOM killer sends) and its last lines.
"""

import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Mapping

TAIL_LINES = 30


class StageDied(RuntimeError):
    """An ``authstream`` process of the benchmark exited while it should have been working."""


class ChildProcess(subprocess.Popen[bytes]):
    """A child whose stderr goes on to ours, line by line, with its last ``TAIL_LINES`` kept."""

    def __init__(self, label: str, argv: list[str], env: Mapping[str, str]) -> None:
        # The caller's own interpreter and fixed arguments: no untrusted input reaches the call.
        super().__init__(argv, env=env, stderr=subprocess.PIPE)
        self.label = label
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._reader = threading.Thread(target=self._pass_on, name=label, daemon=True)
        self._reader.start()

    def _pass_on(self) -> None:
        assert self.stderr is not None
        with self.stderr:
            for raw in self.stderr:  # ends when the child closes its stderr (it exited)
                line = raw.decode(errors="replace").rstrip("\n")
                self.tail.append(line)
                print(line, file=sys.stderr, flush=True)

    def death(self) -> str | None:
        """None while the process runs; once it has exited, what the run should say about it."""
        status = self.poll()
        if status is None:
            return None
        self._reader.join(timeout=5)  # read its stderr to the end first: the last lines matter
        if status < 0:
            how = f"was killed by {signal.Signals(-status).name}"
            if -status == signal.SIGKILL:
                how += " (what the kernel's OOM killer sends: see `dmesg`)"
        else:
            how = f"exited with status {status}"
        said = "\n".join(f"    {line}" for line in self.tail) or "    (nothing)"
        return f"the {self.label} process (pid {self.pid}) {how}; its last lines on stderr:\n{said}"


def check_alive(processes: Iterable[ChildProcess]) -> None:
    """Raise ``StageDied`` for the first of ``processes`` that has exited."""
    for process in processes:
        if (said := process.death()) is not None:
            raise StageDied(said)
