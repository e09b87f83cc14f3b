"""The index stage's shortcut for the document it writes: dumped before ``record`` and brought
up to date by ``recorded_in``, it is exactly what dumping the recorded profile again gives."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from consumers.profile.model import OUTBOX_KEPT, DerivedEvent, Profile
from consumers.stages.derived import derived_event, record, recorded_in
from schemas import Event

AT = datetime(2026, 11, 1, tzinfo=UTC)


def cause(n: int) -> Event:
    return Event.model_validate(
        {
            "schema": "authstream.event/1",
            "event_id": f"evt-{n}",
            "type": "auth.login",
            "occurred_at": (AT + timedelta(minutes=n)).isoformat(),
            "tenant": "innovashoes",
            "user": {"user_id": "auth0|1"},
        }
    )


def derived(n: int, kind: str, request: bool) -> DerivedEvent:
    return derived_event(
        kind,
        cause(n),
        "auth0|1",
        {"changed": ["email"], "version": n},
        request=(f"{kind}:key", f"value-{n}") if request else None,
    )


@given(
    kept=st.integers(0, OUTBOX_KEPT + 3),
    new=st.lists(
        st.tuples(st.sampled_from(["profile.changed", "enrich.requested"]), st.booleans()),
        max_size=4,
    ),
)
def test_the_updated_dump_equals_a_fresh_dump(kept: int, new: list[tuple[str, bool]]) -> None:
    profile = Profile(user_id="auth0|1", requested={"old:key": "old"})
    record(profile, [derived(n, "profile.changed", n % 3 == 0) for n in range(kept)])
    document = profile.document()
    fresh = [derived(1000 + n, kind, request) for n, (kind, request) in enumerate(new)]
    record(profile, fresh)
    recorded_in(document, profile, fresh)
    assert document == profile.document()
    assert len(document["outbox"]) == min(kept + len(new), OUTBOX_KEPT)
