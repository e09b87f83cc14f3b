"""The benchmarks measure what they say (correctness of the harness, not timing)."""

import json

import pytest

from consumers.bench import done_messages, percentile, workload
from consumers.cli import main
from consumers.settings import Settings


def test_the_workload_is_one_signup_in_five_then_logins_of_known_users() -> None:
    events = workload(1_000)
    signups = [e for e in events if e["type"] == "auth.signup"]
    assert len(signups) == 200
    seen: set[str] = set()
    for event in events:
        user_id = event["user"]["user_id"]
        if event["type"] == "auth.signup":
            seen.add(user_id)
        else:
            assert user_id in seen, "a login of a user who never signed up"
    assert len({e["event_id"] for e in events}) == 1_000
    assert {e["event_id"] for e in workload(10)}.isdisjoint(e["event_id"] for e in workload(10))


def test_percentiles_and_metrics_parsing() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (
        50.0,
        99.0,
        100.0,
    )
    page = 'authstream_messages_total{outcome="done",stage="index"} 1234.0\n'
    assert done_messages(page) == 1234
    assert done_messages("") == 0


@pytest.mark.integration
def test_bench_runs_every_phase_and_ends_with_the_json_figures(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "--events", "500", "--rate", "100", "--latency-seconds", "1"]
    assert main([*argv, "--naive-events", "20"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(out[-1])
    for key in ("throughput_eps", "limit_eps", "naive_eps", "p50_ms", "p99_ms", "rss_mb"):
        assert figures[key] > 0, key
    assert figures["ratio_to_limit"] == pytest.approx(
        figures["throughput_eps"] / figures["limit_eps"], rel=0.01
    )
    assert figures["events"] == 500 and figures["latency_events"] == 100
    assert any(line.startswith("limit baseline") for line in out)


@pytest.mark.integration
def test_ingest_bench_reports_confirmed_throughput(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "ingest", "--events", "300", "--senders", "2"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["events"] == 300 and figures["ingest_eps"] > 0
    assert figures["publish_limit_eps"] > 0 and figures["rss_mb"] > 0
