"""Segment definition files: what a marketer writes, and what `validate` tells them."""

from pathlib import Path

import pytest

from consumers.segments.files import InvalidDefinitions, check_directory, load_directory


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def problems_in(directory: Path) -> list[str]:
    return [f"{Path(p.file).name}:{p.line}: {p.message}" for p in check_directory(directory)[1]]


def test_the_built_in_segments_are_valid_and_keep_their_contract() -> None:
    segments = load_directory(None)
    assert sorted(segments) == [
        "negative-twitter-sentiment",
        "preorder-running-men",
        "registered-not-returned",
    ]
    assert segments["registered-not-returned"].parameters == {"days": 7}
    assert segments["preorder-running-men"].describe({"max_age": 35}).startswith("men aged 20-35")


def test_a_marketers_file_with_parameters_and_a_destination(tmp_path: Path) -> None:
    write(
        tmp_path,
        "lapsed-runners.yaml",
        """\
description: runners not seen for $weeks weeks
parameters: {weeks: 6}
where:
  interests: running
  last_seen: {older_than: $weeks weeks}
  country: [US, CA]
destinations:
  - webhook: https://mail.example.com/hooks/authstream
    secret_env: LAPSED_SECRET
    events: [entered]
    name: email-tool
""",
    )
    segment = load_directory(tmp_path)["lapsed-runners"]
    assert segment.describe() == "runners not seen for 6 weeks"
    assert segment.render(now=None) == {
        "bool": {
            "filter": [
                {"term": {"interests": "running"}},
                {"range": {"last_seen": {"lte": "now-6w/d"}}},
                {"terms": {"location.country_code": ["US", "CA"]}},
            ]
        }
    }
    assert segment.render({"weeks": 2})["bool"]["filter"][1] == {
        "range": {"last_seen": {"lte": "now-2w/d"}}
    }
    (destination,) = segment.destinations
    assert (destination.name, destination.secret_env, destination.events) == (
        "email-tool",
        "LAPSED_SECRET",
        ("entered",),
    )
    assert destination.shown == "lapsed-runners/email-tool (https://mail.example.com)"


def test_every_problem_is_reported_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    write(
        tmp_path,
        "vip.yaml",
        """\
description: big spenders
parameters:
  min_age: 30
where:
  all:
    - interest: fitness
    - age: {min: 50, max: 40}
    - gender: Male
    - consent: refusd
    - counters.logins: {min: 3, maxx: 9}
    - signed_up_at: {older_than: 7}
    - last_login: {within: $dayz days}
    - sentiment.score: {above: 0.5, below: 0.5}
    - country: NO
destinations:
  - webhook: ftp://hooks.example.com/x
    secret: abc
    secret_env: lower
""",
    )
    assert problems_in(tmp_path) == [
        "vip.yaml:6: unknown field or condition 'interest' (did you mean 'interests'?)",
        "vip.yaml:7: age: min (50) is greater than max (40)",
        "vip.yaml:8: gender values are stored in lower case: write 'male'",
        "vip.yaml:9: marketing_consent is never 'refusd' (did you mean 'refused'?); known: "
        "granted, refused, unknown",
        "vip.yaml:10: counters.logins has no 'maxx' (did you mean 'max'?); it takes: is, min, "
        "max, above, below, not",
        "vip.yaml:11: older_than expects a duration such as '7 days', '2 weeks' or '12 hours' "
        "(give a unit: '7 days')",
        "vip.yaml:12: unknown parameter $dayz; parameters: min_age",
        "vip.yaml:13: sentiment.score: above (0.5) and below (0.5) leave nothing in between",
        "vip.yaml:16: webhook expects an https:// URL",
        "vip.yaml:17: secrets never go in a segment file: put the secret in an environment "
        "variable and name the variable with `secret_env:`",
        "vip.yaml:18: secret_env names the environment variable that holds the signing secret, "
        "such as PREORDER_WEBHOOK_SECRET",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where: [\n", "a.yaml:2: not valid YAML: expected the node content"),
        ("where:\n  gender: male\n  gender: female\n", "a.yaml:3: 'gender' is given twice"),
        ("descripton: x\nwhere: {gender: male}\n", "a.yaml:1: unknown key 'descripton' (did "),
        ("description: x\n", "a.yaml:1: no `where:` condition"),
        ("where: {interests: {all_of: [fitness, runing]}}\n", "a.yaml:1: interests is never "),
        ("where: {any: []}\n", "a.yaml:1: expects a list of conditions"),
        ("where: {exists: emial}\n", "a.yaml:1: unknown field 'emial' (did you mean 'email'?)"),
        ("where: {returned: 'no'}\n", "a.yaml:1: returned is true or false, not 'no'"),
        ("where: {gender: true}\n", "a.yaml:1: true is read as a yes/no value"),
        ("where: {name: {matches: '--'}}\n", "a.yaml:1: `matches` expects some words"),
        ("where: {last_seen: {older_than: 30 days, within: 7 days}}\n", "a.yaml:1: older than 30"),
        ("where: {signed_up_at: yesterday}\n", "a.yaml:1: signed_up_at is a time: use "),
        ("where: {behavior: {actoin: x}}\n", "a.yaml:1: behavior has no 'actoin' (did you mean"),
        ("where: {age: {min: 200}}\n", "a.yaml:1: an age of 200 years is not a person's age"),
        ("name: b\nwhere: {gender: male}\n", "a.yaml:1: the name 'b' differs from the file name"),
    ],
)
def test_one_problem(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, "a.yaml", text)
    problems = problems_in(tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_yes_and_no_are_words_not_booleans(tmp_path: Path) -> None:
    write(tmp_path, "norway.yaml", "where: {country: NO, city: yes}\n")
    condition = load_directory(tmp_path)["norway"].render()
    assert condition == {
        "bool": {
            "filter": [
                {"term": {"location.country_code": "NO"}},
                {"term": {"location.city": "yes"}},
            ]
        }
    }


def test_an_invalid_directory_is_a_configuration_error_listing_every_problem(
    tmp_path: Path,
) -> None:
    write(tmp_path, "ok.yaml", "where: {gender: male}\n")
    write(tmp_path, "bad.yaml", "where: {gendre: male}\n")
    write(tmp_path, "notes.txt", "not a definition: ignored")
    with pytest.raises(InvalidDefinitions) as raised:
        load_directory(tmp_path)
    assert str(raised.value) == (
        f"invalid segment definitions in {tmp_path}:\n"
        f"  {tmp_path}/bad.yaml:1: unknown field or condition 'gendre' (did you mean 'gender'?)"
    )
    assert problems_in(tmp_path / "missing") == ["missing:1: no such directory"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert problems_in(empty) == ["empty:1: no segment definitions (*.yaml files) here"]
