"""The test helpers that decide what a test run reports."""

import pytest

from tests.helpers import prerequisite_missing


def test_a_missing_prerequisite_skips_on_a_workstation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs rabbitmqctl"):
        prerequisite_missing("needs rabbitmqctl")


def test_a_missing_prerequisite_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true, and a prerequisite is missing"):
        prerequisite_missing("needs rabbitmqctl")


def test_the_ci_script_sets_ci() -> None:
    from tests.helpers import REPO_ROOT

    script = (REPO_ROOT / ".ci" / "run").read_text()
    assert 'export CI="${CI:-true}"' in script.split("make test")[0]
