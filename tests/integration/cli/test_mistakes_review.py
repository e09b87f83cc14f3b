"""More of a user's mistakes at the command line, found by a hostile review of main: each is said
in words with the README's exit status, never a traceback, never a hang."""

import socket

import pytest

from consumers.bench.indexer import free_port
from consumers.core.settings import Settings
from tests.integration.cli.test_mistakes import EXIT_CONFIG, EXIT_UNAVAILABLE, authstream

# -- ingest: the port cannot be had ------------------------------------------------------------


def test_ingest_on_a_port_in_use_says_so_and_never_claims_to_listen(settings: Settings) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        finished = authstream("ingest", "--port", str(port))
    assert finished.returncode == EXIT_CONFIG, finished.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in finished.stderr
    assert "in use" in finished.stderr
    assert "listening" not in finished.stderr.replace("cannot listen", "")


def test_ingest_on_an_address_this_machine_lacks_says_so(settings: Settings) -> None:
    finished = authstream("ingest", "--host", "10.255.255.1", "--port", "18383")
    assert finished.returncode == EXIT_CONFIG, finished.stderr
    assert "cannot listen on 10.255.255.1:18383" in finished.stderr


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_ingest_port_out_of_range_is_a_usage_error(settings: Settings, port: str) -> None:
    finished = authstream("ingest", "--port", port)
    assert finished.returncode == EXIT_CONFIG, finished.stderr
    assert "--port" in finished.stderr


# -- segments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("directory", "said"),
    [
        ("/etc/passwd", "cannot put segment files in /etc/passwd: it is not a folder"),
        ("/proc/nope", "cannot put segment files in /proc/nope: /proc/nope: No such file"),
    ],
)
def test_segments_init_into_a_folder_it_cannot_make_says_so(
    settings: Settings, directory: str, said: str
) -> None:
    finished = authstream("segments", "init", directory)
    assert finished.returncode == EXIT_CONFIG, finished.stderr
    assert said in finished.stderr


@pytest.mark.parametrize(
    "argv", [("segments", "list"), ("segments", "show", "registered-not-returned")]
)
def test_segments_before_setup_say_to_run_setup(settings: Settings, argv: tuple[str, ...]) -> None:
    finished = authstream(*argv)
    assert finished.returncode == EXIT_CONFIG, finished.stderr
    assert "run `authstream setup` first" in finished.stderr
    assert "index_not_found" not in finished.stderr


SEGMENTS_BENCH = "segments bench --profiles 10 --segments 2 --rate 10 --seconds 1"
INDEXER_BENCH = "bench --events 10 --rate 10 --latency-seconds 1 --naive-events 1"


@pytest.mark.parametrize("bench", [SEGMENTS_BENCH, INDEXER_BENCH])
def test_benchmarks_with_elasticsearch_unreachable_exit_3_with_the_redacted_url(
    settings: Settings, bench: str
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    finished = authstream(
        *bench.split(), AUTHSTREAM_ELASTICSEARCH_URL=f"http://elastic:hunter2@{nowhere}"
    )
    assert finished.returncode == EXIT_UNAVAILABLE, finished.stderr
    assert f"Elasticsearch at http://elastic:***@{nowhere} is unreachable" in finished.stderr
    assert "hunter2" not in finished.stderr
