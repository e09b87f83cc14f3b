"""Every authstream process runs numpy's BLAS, and the tokenizer, on one thread unless the
operator chose otherwise."""

import os
import subprocess
import sys

import pytest

DEFAULTS = {"OPENBLAS_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.mark.parametrize("variable", list(DEFAULTS))
@pytest.mark.parametrize("given", [None, "", "2"])
def test_one_thread_unless_set(variable: str, given: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != variable}
    if given is not None:
        env[variable] = given
    probe = subprocess.run(
        [sys.executable, "-c", f"import consumers.cli, os; print(os.environ['{variable}'])"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == (given or DEFAULTS[variable])
