"""Every authstream process runs numpy's BLAS on one thread unless the operator chose otherwise."""

import os
import subprocess
import sys

import pytest

PROBE = "import consumers.cli, os, numpy; print(os.environ['OPENBLAS_NUM_THREADS'])"


@pytest.mark.parametrize(("given", "used"), [(None, "1"), ("", "1"), ("2", "2")])
def test_one_blas_thread_unless_set(given: str | None, used: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == used
