import pytest

from consumers.bench import profiles
from consumers.bench.people import percentile
from consumers.profile.searchable import fold_words


def test_documents_are_the_same_for_the_same_number() -> None:
    models = [{"user_id": "t", "interests": ["running"], "location": {"city": "Portland"}}]
    first = list(profiles.documents(10, 13, models))
    assert first == list(profiles.documents(10, 13, models))
    assert [d["user_id"] for d in first] == ["bench-00000010", "bench-00000011", "bench-00000012"]
    doc = first[0]
    assert set(doc["search"].split()) == {
        *fold_words(f"{doc['name']} {doc['email']}"), "portland", "running",
    }  # fmt: skip
    assert doc["email"].endswith("10@example.com") and doc["auth0"]["user_id"] == doc["user_id"]


def test_surnames_are_many_and_some_are_the_demos() -> None:
    names = {profiles.surname(k) for k in range(36_000)}
    assert len(names) > 20_000 and "García" in names


@pytest.mark.parametrize("members", [1, 19, 20, 1_000, 100_000])
def test_the_export_range_holds_exactly_the_members_asked_for(members: int) -> None:
    limit = profiles.range_exporting(members)
    exported = sum(profiles.consent_of(n) != "refused" for n in range(limit))
    assert exported == members == profiles.exported_below(limit)
    assert profiles.consent_of(limit - 1) != "refused"  # the smallest such range


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile([7.0], 0.95)) == (
        50.0, 95.0, 7.0,
    )  # fmt: skip
