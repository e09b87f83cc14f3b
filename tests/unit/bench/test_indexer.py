"""The benchmarks measure what they say (correctness of the harness, not timing)."""

from consumers.bench.indexer import done_messages, percentile
from consumers.bench.workfile import workload


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
