import io

import orjson
import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker
from tests.helpers import dumps, envelope


def test_published_event_lands_on_the_index_queue_with_routing_key_headers_and_body(
    settings: Settings, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["setup"]) == 0
    event = envelope(type="auth.signup")
    path = tmp_path / "events.jsonl"
    path.write_bytes(dumps(event) + b"\n")
    assert main(["publish", str(path)]) == 0
    assert "published 1 event(s); 0 line(s) failed" in capsys.readouterr().out

    [(method, properties, body)] = broker.drain(
        settings, Names(settings.name_prefix).work_queue("index")
    )
    assert method.routing_key == "auth.signup"
    assert method.exchange == Names(settings.name_prefix).exchange
    assert properties.message_id == event["event_id"]
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.headers is not None
    assert properties.headers["authstream-schema"] == "authstream.event/1"
    assert properties.headers["authstream-source"] == "auth0-action"
    assert orjson.loads(body) == event


def test_bad_lines_are_reported_by_number_and_the_good_ones_around_them_still_publish(
    settings: Settings, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["setup"]) == 0
    good = [envelope() for _ in range(4)]
    lines = [
        dumps(good[0]),
        b"this is not json",
        dumps(envelope(schema="authstream.event/9")),
        dumps(good[1]),
        dumps(envelope(user={"email": "no-id@example.com"})),
        dumps(good[2]),
        b'{"pad": "' + b"x" * (5 * 1024 * 1024) + b'"}',
        dumps(good[3]),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    assert main(["publish", str(path)]) == 1
    captured = capsys.readouterr()
    assert "line 2: Invalid JSON" in captured.err
    assert "line 3: unsupported schema 'authstream.event/9'" in captured.err
    assert "line 5: user.user_id: Field required" in captured.err
    assert "line 7: line is 5,242,892 bytes, over the 1,048,576-byte limit" in captured.err
    assert "published 4 event(s); 4 line(s) failed" in captured.out

    delivered = broker.drain(settings, Names(settings.name_prefix).work_queue("index"))
    assert sorted(p.message_id for _, p, _ in delivered) == sorted(e["event_id"] for e in good)


def test_many_events_are_published_with_confirms_from_stdin(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["setup"]) == 0
    events = [envelope() for _ in range(3_000)]
    stdin = io.TextIOWrapper(io.BytesIO(b"\n".join(dumps(e) for e in events)))
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["publish", "-"]) == 0
    assert "published 3,000 event(s)" in capsys.readouterr().out
    assert broker.message_count(settings, Names(settings.name_prefix).work_queue("index")) == 3_000


def test_publishing_before_setup_says_to_run_setup(
    settings: Settings, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one.jsonl"
    path.write_bytes(dumps(envelope()))
    assert main(["publish", str(path)]) == 2
    assert "run `authstream setup` first" in capsys.readouterr().err
