"""A benchmark's child process that dies says which it was, how it ended and what it last wrote
(a 200,000-event run once lost its segments process with no word of why)."""

import asyncio
import os
import signal
import sys

import pytest

from consumers.bench.children import TAIL_LINES, ChildProcess, StageDied, check_alive
from consumers.bench.indexer import _wait_for_settled, authstream_process, free_port
from consumers.core.settings import Settings
from tests.helpers import eventually


def _python(label: str, code: str) -> ChildProcess:
    return ChildProcess(label, [sys.executable, "-c", code], os.environ)


def test_a_child_that_exits_is_reported_with_its_status_and_last_lines_of_stderr(
    capfd: pytest.CaptureFixture[str],
) -> None:
    child = _python(
        "stage one",
        "import sys\nfor n in range(100): print(f'line {n}', file=sys.stderr)\nsys.exit(3)",
    )
    child.wait(timeout=30)
    said = child.death()
    assert said is not None
    assert said.startswith(f"the stage one process (pid {child.pid}) exited with status 3;")
    assert "line 99" in said and f"line {99 - TAIL_LINES + 1}" in said
    assert f"line {99 - TAIL_LINES}\n" not in said  # only the last lines are kept
    assert "line 0\n" in capfd.readouterr().err  # every line was passed on as it came


def test_a_killed_child_is_reported_with_the_signal_and_a_running_one_is_not() -> None:
    child = _python(
        "stage two", "import sys, time\nprint('up', file=sys.stderr, flush=True)\ntime.sleep(60)"
    )
    try:
        eventually(lambda: list(child.tail) == ["up"], timeout=30)
        assert child.death() is None
        check_alive([child])  # running: nothing to say
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        with pytest.raises(StageDied, match=r"stage two process .* was killed by SIGKILL") as died:
            check_alive([child])
        assert "OOM killer" in str(died.value) and "    up" in str(died.value)
    finally:
        child.kill()
        child.wait()


def test_the_bench_wait_stops_when_its_stage_process_dies_and_says_why() -> None:
    settings = Settings(name_prefix="unit-children-")
    # A stage that cannot start: the real `authstream run` exits 2 with its reason on stderr.
    with (
        authstream_process(settings, ["run", "--stage", "nosuch"]) as process,
        pytest.raises(StageDied) as died,
    ):
        asyncio.run(_wait_for_settled(free_port(), 1, process))
    said = str(died.value)
    assert "the authstream run --stage nosuch process" in said
    assert "exited with status 2" in said
    assert "unknown stage(s) nosuch" in said
