"""The benchmarks measure what they say (correctness of the harness, not timing)."""

import json

import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings


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
    # CPU per event of every process of the run, read from /proc in the same run.
    cpu = figures["cpu_ms_per_event"]
    assert cpu["index"] > 0 and cpu["load generator"] > 0
    assert {"rabbitmq", "elasticsearch"} <= cpu.keys()  # the local services are measured too
    assert 0 < figures["harness_rss_mb"] < 1024


def test_ingest_bench_reports_confirmed_throughput(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "ingest", "--events", "300", "--senders", "2"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["events"] == 300 and figures["ingest_eps"] > 0
    assert figures["publish_limit_eps"] > 0 and figures["rss_mb"] > 0
    assert figures["cpu_ms_per_event"]["ingest"] > 0


def test_soak_reports_the_slope_of_every_series_of_every_stage(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "soak", "--minutes", "0.25", "--rate", "100"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["published"] >= 1_400  # 15 s at 100/s, give or take the pacing
    for series in ("index rss_mb", "index fds", "index sockets", "backlog (messages)"):
        assert series in figures["slopes"], series
    assert figures["last"]["index rss_mb"] > 20
