"""Numeric options out of range are usage errors argparse reports (exit 2, naming the option),
never a hang (`bench --index-workers 0`) or a nonsense run (`demo --users -5`)."""

import pytest

from consumers.cli.main import build_parser, main


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["bench", "--index-workers", "0"], "--index-workers"),
        (["bench", "--events", "-1"], "--events"),
        (["bench", "soak", "--minutes", "0"], "--minutes"),
        (["bench", "soak", "--minutes", "nan"], "--minutes"),
        (["demo", "--users", "-5"], "--users"),
        (["demo", "--users", "many"], "--users"),
        (["mentions", "evaluate", "x.jsonl", "--misses", "-2"], "--misses"),
        (["dlq", "list", "--limit", "-1"], "--limit"),
        (["dlq", "replay", "--limit", "0"], "--limit"),
        (["interests", "evaluate", "x.jsonl", "--target", "fitness=2/0.8"], "--target"),
        (["interests", "evaluate", "x.jsonl", "--mistakes", "-1"], "--mistakes"),
        (["segments", "bench", "--rate", "0"], "--rate"),
        (["kibana", "import", "--wait", "-3"], "--wait"),
        (["ingest", "--port", "99999"], "--port"),
    ],
)
def test_an_out_of_range_number_is_a_usage_error_naming_the_option(
    capsys: pytest.CaptureFixture[str], argv: list[str], option: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "Traceback" not in err


def test_the_edges_of_the_ranges_are_accepted() -> None:
    parser = build_parser()
    assert parser.parse_args(["demo", "--users", "0"]).users == 0
    assert parser.parse_args(["dlq", "list", "--limit", "1"]).limit == 1
    assert parser.parse_args(["ingest", "--port", "65535"]).port == 65535
    assert parser.parse_args(["bench", "--index-workers", "2"]).index_workers == 2
    assert parser.parse_args(["kibana", "import", "--wait", "0"]).wait == 0.0
    target = parser.parse_args(["interests", "evaluate", "x", "--target", "fitness=1/0"]).target
    assert (target[0].precision, target[0].recall) == (1.0, 0.0)
