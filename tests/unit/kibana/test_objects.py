"""The saved objects hang together: ids, references, Lens accessors; the shipped file is current."""

import json
from typing import Any

import pytest

from consumers.core.names import Names
from consumers.kibana.objects import builtin_segments, saved_objects, to_ndjson
from tests.helpers import REPO_ROOT

SHIPPED = REPO_ROOT / "deploy" / "kibana" / "authstream.ndjson"
OBJECTS = saved_objects(Names(""), builtin_segments())


def test_the_shipped_file_is_what_the_code_generates() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == to_ndjson(OBJECTS), (
        "deploy/kibana/authstream.ndjson is stale: run `make kibana`"
    )


def test_ids_are_unique_and_prefixed_like_the_indices() -> None:
    keys = [(o["type"], o["id"]) for o in OBJECTS]
    assert len(keys) == len(set(keys))
    prefixed = saved_objects(Names("acme-"), builtin_segments())
    assert all(o["id"].startswith("acme-authstream-") for o in prefixed)
    titles = {o["attributes"]["title"] for o in prefixed if o["type"] == "index-pattern"}
    assert titles == {"acme-authstream-users", "acme-authstream-events"}


def test_every_reference_points_into_the_file() -> None:
    known = {(o["type"], o["id"]) for o in OBJECTS}
    for obj in OBJECTS:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in known, f"{obj['id']} → {ref}"


def test_a_saved_search_per_segment_and_all_on_the_dashboard() -> None:
    searches = {o["attributes"]["title"] for o in OBJECTS if o["type"] == "search"}
    assert searches == {f"Segment: {s.name}" for s in builtin_segments()}
    [board] = [o for o in OBJECTS if o["type"] == "dashboard"]
    panels = json.loads(board["attributes"]["panelsJSON"])
    shown = {r["id"] for r in board["references"]}
    assert shown == {o["id"] for o in OBJECTS if o["type"] in ("lens", "map", "search")}
    names = {r["name"] for r in board["references"]}
    assert {f"{p['panelIndex']}:{p['panelRefName']}" for p in panels} == names
    for panel in panels:  # on the 48-column grid, no two panels overlapping
        grid = panel["gridData"]
        assert grid["x"] + grid["w"] <= 48
    cells = [
        (x, y)
        for p in panels
        for x in range(p["gridData"]["x"], p["gridData"]["x"] + p["gridData"]["w"])
        for y in range(p["gridData"]["y"], p["gridData"]["y"] + p["gridData"]["h"])
    ]
    assert len(cells) == len(set(cells))


@pytest.mark.parametrize("lens", [o for o in OBJECTS if o["type"] == "lens"], ids=lambda o: o["id"])
def test_lens_visualizations_only_use_their_own_columns(lens: dict[str, Any]) -> None:
    state = lens["attributes"]["state"]
    [(layer_id, layer)] = state["datasourceStates"]["formBased"]["layers"].items()
    assert [r["name"] for r in lens["references"]] == [f"indexpattern-datasource-layer-{layer_id}"]
    assert layer["columnOrder"] == list(layer["columns"])
    vis = state["visualization"]
    used: list[str] = []
    for vis_layer in vis.get("layers", [vis]):
        assert vis_layer["layerId"] == layer_id
        for key in ("xAccessor", "splitAccessor", "metricAccessor"):
            used += [vis_layer[key]] if key in vis_layer else []
        for key in ("accessors", "primaryGroups", "metrics"):
            used += vis_layer.get(key, [])
    assert used and set(used) == set(layer["columns"])
    for column in layer["columns"].values():
        order = column.get("params", {}).get("orderBy", {})
        assert order.get("type") != "column" or order["columnId"] in layer["columns"]
