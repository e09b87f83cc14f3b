"""The demo's mention ids belong to their author's posts, not to places in a list: a run with a
different --users on the same prefix must find every customer's posts under the ids it expects
(the mention store keeps the first document under an id)."""

from consumers.demo.synthetic import synthetic_mentions, synthetic_tenant


def _by_id(users: int) -> dict[str, tuple[str, str]]:
    return {
        m["id"]: (m["author_id"], m["text"]) for m in synthetic_mentions(synthetic_tenant(users))
    }


def test_an_id_means_the_same_post_whatever_users_was() -> None:
    runs = [_by_id(users) for users in (0, 60, 120)]
    for earlier in runs:
        for later in runs:
            for post_id in earlier.keys() & later.keys():
                assert earlier[post_id] == later[post_id], post_id


def test_a_customer_keeps_their_ids_when_more_customers_are_simulated() -> None:
    smaller, larger = _by_id(60), _by_id(120)
    assert smaller.keys() <= larger.keys()
    assert len(larger) > len(smaller)


def test_ids_are_unique_numeric_post_ids() -> None:
    mentions = synthetic_mentions(synthetic_tenant(500))
    ids = [m["id"] for m in mentions]
    assert len(set(ids)) == len(ids)
    assert all(i.isdigit() and len(i) == 19 for i in ids)
    assert all(m["url"].endswith(f"/status/{m['id']}") for m in mentions)
