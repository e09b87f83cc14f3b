"""A user's mistakes at the command line: each one is said in words, with the exit status the
README gives (2 usage or configuration, 3 unreachable, 141 the reader went away), never with a
traceback. Every case runs the real `authstream` process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from consumers.bench.indexer import free_port
from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import envelope, eventually, publish_events
from tests.workers import running

EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_PIPE_CLOSED = 2, 3, 141


def authstream(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    finished = subprocess.run(
        [sys.executable, "-m", "consumers.cli", *argv],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in finished.stderr, finished.stderr
    return finished


def with_reader_gone(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run with standard output a pipe whose reader has gone (`authstream ... | head` after
    head exited): closed before the process has started, so its first write finds it gone."""
    process = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    return subprocess.CompletedProcess(process.args, process.returncode, "", stderr)


# -- --param ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "said"),
    [
        ("nope=3", "segment registered-not-returned has no parameter 'nope'; parameters: days=7"),
        ("dys=3", "has no parameter 'dys' (did you mean 'days'?)"),
        ("days=abc", "--param days expects a whole number, got 'abc'"),
        ("days", "--param expects NAME=VALUE, got 'days'; registered-not-returned's parameters"),
        ("=3", "--param expects NAME=VALUE, got '=3'"),
    ],
)
@pytest.mark.parametrize("action", ["show", "export"])
def test_an_unknown_or_malformed_param_names_the_segments_parameters(
    settings: Settings, action: str, param: str, said: str
) -> None:
    finished = authstream("segments", action, "registered-not-returned", "--param", param)
    assert finished.returncode == EXIT_CONFIG
    assert said in finished.stderr


def test_a_word_parameter_takes_a_word(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "plan-members.yaml").write_text(
        "description: members of the $plan plan\nparameters: {plan: gold}\nwhere: {gender: $plan}\n"
    )
    env = {"AUTHSTREAM_SEGMENTS_DIR": str(tmp_path)}
    shown = authstream(
        "segments", "show", "plan-members", "--query", "--param", "plan=silver", **env
    )
    assert shown.returncode == 0 and '"silver"' in shown.stdout and '"gold"' not in shown.stdout


# -- the broker: a vhost that is not there, a topology not set up ---------------------------------


@pytest.mark.parametrize(
    "argv", [("check",), ("setup",), ("dlq", "list"), ("run", "--stage", "index")]
)
def test_a_virtual_host_that_does_not_exist_is_a_configuration_error(
    settings: Settings, argv: tuple[str, ...]
) -> None:
    url = settings.amqp_url.get_secret_value().rstrip("/") + "/no-such-vhost"
    finished = authstream(*argv, AUTHSTREAM_AMQP_URL=url)
    assert finished.returncode == EXIT_CONFIG
    assert "refused access to the virtual host 'no-such-vhost'" in finished.stderr
    assert "guest:guest" not in finished.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "--stage", "index"),
        ("dlq", "list"),
        ("dlq", "replay"),
        ("dlq", "purge", "--yes"),
        ("dlq", "purge"),
    ],
)
def test_run_and_dlq_before_setup_say_to_run_setup(
    settings: Settings, argv: tuple[str, ...]
) -> None:
    finished = authstream(*argv)
    assert finished.returncode == EXIT_CONFIG
    assert "run `authstream setup` first" in finished.stderr


def test_services_that_do_not_answer_exit_3(settings: Settings) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    broker_down = authstream("dlq", "list", AUTHSTREAM_AMQP_URL=f"amqp://guest:guest@{nowhere}/")
    assert broker_down.returncode == EXIT_UNAVAILABLE and "unreachable" in broker_down.stderr
    search_down = authstream("segments", "list", AUTHSTREAM_ELASTICSEARCH_URL=f"http://{nowhere}")
    assert search_down.returncode == EXIT_UNAVAILABLE and "unreachable" in search_down.stderr


# -- a reader that goes away (`| head`) ----------------------------------------------------------


def test_every_command_that_prints_a_lot_stops_quietly_when_its_reader_goes_away(
    settings: Settings, tmp_path: Path
) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    users = [{"user_id": f"auth0|p{n}", "name": f"Piper Runner {n}"} for n in range(30)]
    publish_events([envelope(type="auth.signup", user=u) for u in users], tmp_path)
    with broker.channel(settings) as channel:
        channel.confirm_delivery()
        for n in range(5):
            channel.basic_publish(names.exchange, "auth.login", f"not json {n}".encode())
    with running(settings):
        eventually(lambda: search.count_events(settings) == 30, message="the profiles")
        eventually(lambda: broker.message_count(settings, names.parking_lot("index")) == 5)
    search.refresh_users(settings)
    for argv in (
        ("search", "piper"),
        ("search", "piper", "--format", "jsonl"),
        ("users", "show", "auth0|p1"),
        ("dlq", "list"),
        ("segments", "list"),
        ("segments", "show", "registered-not-returned"),
        ("segments", "show", "registered-not-returned", "--query"),
        ("segments", "export", "registered-not-returned", "--format", "jsonl"),
        ("segments", "validate"),
        ("setup",),
    ):
        finished = with_reader_gone(*argv)
        assert finished.returncode == EXIT_PIPE_CLOSED, (argv, finished.stderr)
    assert broker.message_count(settings, names.parking_lot("index")) == 5  # listing took none
