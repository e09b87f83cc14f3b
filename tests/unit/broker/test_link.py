from consumers.broker.link import nodes_in_turn


def test_nodes_are_tried_from_a_random_one_on_each_once_in_ring_order() -> None:
    urls = ["a", "b", "c"]
    starts = set()
    for _ in range(60):
        order = nodes_in_turn(urls)
        assert sorted(order) == urls
        start = urls.index(order[0])
        assert order == urls[start:] + urls[:start]
        starts.add(order[0])
    assert starts == set(urls)  # connections spread over the nodes
