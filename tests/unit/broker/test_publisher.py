import io

import pytest

from consumers.broker.publisher import read_lines
from consumers.cli.main import main


def test_read_lines_numbers_lines_and_skips_blank_ones() -> None:
    stream = io.BytesIO(b'{"a":1}\n\n  \n{"b":2}\r\n{"c":3}')
    lines = list(read_lines(stream, 100))
    assert [(line.number, line.body) for line in lines] == [
        (1, b'{"a":1}'),
        (4, b'{"b":2}'),
        (5, b'{"c":3}'),
    ]


def test_read_lines_measures_an_oversized_line_without_keeping_it() -> None:
    stream = io.BytesIO(b"ok\n" + b"x" * 300_000 + b"\nafter\n")
    lines = list(read_lines(stream, 1_000))
    assert [(line.number, line.body) for line in lines] == [(1, b"ok"), (2, b""), (3, b"after")]
    assert lines[1].size == 300_001


def test_a_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["publish", "/nonexistent/events.jsonl"]) == 2
    assert "cannot read /nonexistent/events.jsonl" in capsys.readouterr().err
