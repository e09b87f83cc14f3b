"""The workload generator with a fixed population (the soak's load): signups go on, logins are
of users it still holds, and its memory stays flat however many events it makes."""

import tracemalloc

from consumers.bench.workfile import Users, iter_workload


def test_signups_go_on_and_logins_are_of_the_latest_users_only() -> None:
    users = Users(50)
    signed_up: list[str] = []
    for event in iter_workload(5_000, users=users):
        user_id = event["user"]["user_id"]
        if event["type"] == "auth.signup":
            signed_up.append(user_id)
        else:
            assert user_id in signed_up[-50:], "a login of a user no longer in the population"
        assert len(users.held) <= 50
    assert len(signed_up) == len(set(signed_up)) == users.created == 1_000


def traced_growth(users: Users, events: int, after: int) -> int:
    """Bytes the generator holds more after ``events`` events than after the first ``after``."""
    tracemalloc.start()
    try:
        for number, _ in enumerate(iter_workload(events, users=users), 1):
            if number == after:
                early = tracemalloc.get_traced_memory()[0]
            if number == events:  # before the generator ends and lets go of its state
                return tracemalloc.get_traced_memory()[0] - early
    finally:
        tracemalloc.stop()
    raise AssertionError("the workload ended early")


def test_a_fixed_population_holds_the_same_memory_after_ten_thousand_more_events() -> None:
    bounded = traced_growth(Users(200), 12_000, after=2_000)
    kept_everyone = traced_growth(Users(), 12_000, after=2_000)  # what the measure would see
    assert bounded < 64 * 1024, f"the generator grew {bounded:,} bytes"
    assert kept_everyone > 1024 * 1024  # 2,000 more users: a growth this test does see
