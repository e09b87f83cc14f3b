"""Every field a saved object uses exists in the real mapping, with a type Kibana can use there.

The layout is created by `authstream setup` in the real Elasticsearch (the events stream by a first
event), then read back with `_field_caps`. Every query inside the objects (Lucene, and the
segments' Query DSL) is run against the real indices too: a typo or a syntax Kibana would send and
Elasticsearch refuse fails here.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.kibana.objects import builtin_segments, saved_objects
from tests import search

NUMBERS = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}
LUCENE_FIELD = re.compile(r"([A-Za-z_@][\w.@]*):")
DSL_LEAVES = ("term", "terms", "range", "match", "match_phrase", "prefix", "wildcard")


@dataclass(frozen=True)
class Use:
    where: str  # which object, which part
    index: str
    field: str
    need: str  # date, number, geo_point, string, boolean, aggregatable, searchable, exists


@dataclass(frozen=True)
class Query:
    where: str
    index: str
    body: dict[str, Any]


def dsl_fields(node: Any) -> list[str]:
    """Field names in a Query DSL tree (term/range/... keys and exists' field)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in DSL_LEAVES and isinstance(value, dict):
                found += list(value)
            elif key == "exists" and isinstance(value, dict):
                found.append(value["field"])
            else:
                found += dsl_fields(value)
    elif isinstance(node, list):
        for item in node:
            found += dsl_fields(item)
    return found


def lucene(where: str, index: str, text: str) -> tuple[list[Use], list[Query]]:
    if not text:
        return [], []
    uses = [Use(where, index, name, "searchable") for name in LUCENE_FIELD.findall(text)]
    return uses, [Query(where, index, {"query_string": {"query": text}})]


def uses_of(objects: list[dict[str, Any]]) -> tuple[list[Use], list[Query]]:
    titles = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    uses: list[Use] = []
    queries: list[Query] = []
    for obj in objects:
        kind, attrs, refs = obj["type"], obj["attributes"], obj["references"]
        where = f"{kind} {obj['id']}"
        by_name = {r["name"]: titles.get(r["id"]) for r in refs if r["type"] == "index-pattern"}
        if kind == "index-pattern":
            uses.append(Use(where, attrs["title"], attrs["timeFieldName"], "date"))
        elif kind == "search":
            index = by_name["kibanaSavedObjectMeta.searchSourceJSON.index"]
            assert index
            uses += [Use(where, index, column, "exists") for column in attrs["columns"]]
            uses += [Use(f"{where} sort", index, f, "aggregatable") for f, _ in attrs["sort"]]
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            for number, entry in enumerate(source["filter"]):
                filter_index = by_name[entry["meta"]["indexRefName"]]
                assert filter_index
                uses += [Use(where, filter_index, f, "searchable") for f in dsl_fields(entry)]
                queries.append(Query(f"{where} filter {number}", filter_index, entry["query"]))
        elif kind == "lens":
            state = attrs["state"]
            for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
                index = by_name[f"indexpattern-datasource-layer-{layer_id}"]
                assert index
                more_uses, more_queries = lucene(where, index, state["query"]["query"])
                uses, queries = uses + more_uses, queries + more_queries
                for column in layer["columns"].values():
                    field, op = column.get("sourceField"), column["operationType"]
                    if op == "date_histogram":
                        uses.append(Use(where, index, field, "date"))
                    elif op == "terms":
                        uses.append(Use(where, index, field, column["dataType"]))
                    elif op in ("average", "sum", "min", "max", "median"):
                        uses.append(Use(where, index, field, "number"))
                    elif op == "filters":
                        for bucket in column["params"]["filters"]:
                            u, q = lucene(f"{where} {bucket['label']}", index,
                                          bucket["input"]["query"])  # fmt: skip
                            uses, queries = uses + u, queries + q
        elif kind == "map":
            for layer in json.loads(attrs["layerListJSON"]):
                source = layer["sourceDescriptor"]
                if "geoField" in source:
                    index = by_name[source["indexPatternRefName"]]
                    assert index
                    layer_where = f"{where} {layer['id']}"
                    uses.append(Use(layer_where, index, source["geoField"], "geo_point"))
    return uses, queries


def caps(es: Elasticsearch, index: str) -> dict[str, dict[str, Any]]:
    """field → its single capability entry (type, searchable, aggregatable)."""
    found = es.field_caps(index=index, fields="*")["fields"]
    result = {}
    for name, by_type in found.items():
        assert len(by_type) == 1, f"{index}: {name} has conflicting types {list(by_type)}"
        result[name] = next(iter(by_type.values()))
    return result


def meets(cap: dict[str, Any], need: str) -> bool:
    kind = cap["type"]
    return {
        "date": kind in ("date", "date_nanos") and cap["aggregatable"],
        "number": kind in NUMBERS and cap["aggregatable"],
        "geo_point": kind == "geo_point" and cap["aggregatable"],
        "string": kind == "keyword" and cap["aggregatable"],
        "boolean": kind == "boolean" and cap["aggregatable"],
        "aggregatable": cap["aggregatable"],
        "searchable": cap["searchable"],
        "exists": True,
    }[need]


@pytest.fixture
def layout(settings: Settings) -> Settings:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    with search.client(settings) as es:  # the events stream is created by its first event
        es.index(
            index=names.events_stream,
            op_type="create",
            document={"@timestamp": "2026-11-30T10:00:00Z", "event": {"action": "auth.login"}},
            refresh=True,
        )
    return settings


def test_saved_objects_use_only_fields_the_mapping_has(layout: Settings) -> None:
    objects = saved_objects(Names(layout.name_prefix), builtin_segments())
    uses, queries = uses_of(objects)
    kinds = {use.where.split()[0] for use in uses}
    assert kinds == {"index-pattern", "search", "lens", "map"}  # every kind was inspected
    assert len(uses) > 40
    with search.client(layout) as es:
        known = {index: caps(es, index) for index in {use.index for use in uses}}
        problems = [
            f"{use.where}: {use.index} has no field {use.field}"
            if use.field not in known[use.index]
            else f"{use.where}: {use.field} is {known[use.index][use.field]['type']}, "
            f"not usable as {use.need}"
            for use in uses
            if use.field not in known[use.index] or not meets(known[use.index][use.field], use.need)
        ]
        assert problems == []
        for query in queries:  # Elasticsearch parses each one (a 400 raises here)
            es.count(index=query.index, query=query.body)


def test_a_wrong_field_would_be_caught(layout: Settings) -> None:
    """The check above can fail: a chart on a text field, a filter on a field that is not there."""
    names = Names(layout.name_prefix)
    objects = saved_objects(names, builtin_segments())
    lens = next(o for o in objects if o["id"].endswith("lens-interests"))
    columns = next(iter(lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
                        .values()))["columns"]  # fmt: skip
    columns["g"]["sourceField"] = "search"  # text: Kibana cannot make top values of it
    lens["attributes"]["state"]["query"]["query"] = "shoe_size:44"
    views = [o for o in objects if o["type"] == "index-pattern"]
    uses = [u for u in uses_of([*views, lens])[0] if u.index == names.users_alias]
    with search.client(layout) as es:
        known = caps(es, names.users_alias)
    failing = {(u.field, u.need) for u in uses if u.field not in known
               or not meets(known[u.field], u.need)}  # fmt: skip
    assert failing == {("search", "string"), ("shoe_size", "searchable")}


def test_one_filter_spans_users_and_events(layout: Settings) -> None:
    """The ECS aliases: `user.id` and `user.email` mean the same on both data views."""
    names = Names(layout.name_prefix)
    with search.client(layout) as es:
        for index in (names.users_alias, names.events_stream):
            fields = caps(es, index)
            assert fields["user.id"]["type"] == "keyword" and fields["user.id"]["aggregatable"]
            assert fields["user.email"]["type"] == "keyword"
