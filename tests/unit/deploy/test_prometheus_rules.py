"""deploy/prometheus: the config and rules are valid for promtool, and every alert is unit-tested
by `promtool test rules` (each fires on its cause and stays quiet on its look-alikes)."""

import subprocess
from typing import Any

import yaml

from tests.helpers import REPO_ROOT
from tests.ops_tools import tool

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], capture_output=True, text=True, timeout=120, cwd=PROMETHEUS
    )


def alerts_in(path: Any) -> set[str]:
    groups = yaml.safe_load(path.read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_the_rules_pass_promtool_check() -> None:
    assert RULES
    checked = promtool("check", "rules", *map(str, RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_compose_prometheus_config_is_valid_and_loads_the_rules() -> None:
    checked = promtool("check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "authstream.rules.yml" in checked.stdout


def test_the_rule_unit_tests_pass() -> None:
    assert RULE_TESTS
    tested = promtool("test", "rules", *map(str, RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_unit_test_that_expects_it_to_fire() -> None:
    defined = set().union(*(alerts_in(path) for path in RULES))
    firing = {
        case["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert defined - firing == set(), "alerts no test expects to fire"
    assert firing - defined == set(), "tests of alerts that do not exist"


def test_every_alert_is_explained_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("### Alerts") : readme.index("### Scaling")]
    defined = set().union(*(alerts_in(path) for path in RULES))
    explained = {name for name in defined if f"| {name} |" in section}
    assert defined - explained == set(), "alerts the README's table does not explain"
