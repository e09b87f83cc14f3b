"""Kibana for the marketer: data views, a saved search per segment, the dashboard.

Everything is generated from the names in use (``AUTHSTREAM_NAME_PREFIX`` prefixes index names and
saved object ids alike, so two installations can share a Kibana) and from the segment definitions,
so a segment added to the definitions gets its saved search on the next import.
``deploy/kibana/authstream.ndjson`` is this output for an unprefixed installation.

The dashboard and its charts are in ``kibana.dashboard``.
"""

import json
from dataclasses import dataclass
from typing import Any

from consumers.core.names import Names
from consumers.kibana.dashboard import customer_map, dashboard, visualizations

SEARCH_MIGRATION = {"coreMigrationVersion": "8.8.0", "typeMigrationVersion": "7.9.3"}
DATA_VIEW_MIGRATION = {"coreMigrationVersion": "8.8.0", "typeMigrationVersion": "8.0.0"}
USERS_TIME_FIELD = "first_seen"  # every profile has it (signed_up_at needs a signup event)
# Bookkeeping fields Discover does not need to show.
USERS_HIDDEN = (
    "auth0",
    "auth0_stamps",
    "outbox",
    "applied_events",
    "requested",
    "seen_interests",
    "search",
    "version",
)
SEGMENT_COLUMNS = (
    "user_id",
    "email",
    "name",
    "gender",
    "birth_date",
    "interests",
    "last_login",
    "marketing_consent",
)


@dataclass(frozen=True)
class SegmentSearch:
    """What a saved search needs from a segment definition."""

    name: str
    description: str
    query: dict[str, Any]


class Ids:
    """Saved object ids, prefixed like the indices they show."""

    def __init__(self, names: Names) -> None:
        self.prefix = names.prefix

    def __call__(self, kind: str) -> str:
        return f"{self.prefix}authstream-{kind}"


def data_view(
    id_: str, title: str, name: str, time_field: str, hidden: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "type": "index-pattern",
        "id": id_,
        **DATA_VIEW_MIGRATION,
        "attributes": {
            "title": title,
            "name": name,
            "timeFieldName": time_field,
            "allowNoIndex": True,  # the events stream appears with the first event
            "fields": "[]",
            "fieldFormatMap": "{}",
            "runtimeFieldMap": "{}",
            "typeMeta": "{}",
            "sourceFilters": json.dumps([{"value": f} for f in hidden]),
        },
        "references": [],
    }


def saved_search(id_: str, segment: SegmentSearch, data_view_id: str) -> dict[str, Any]:
    """Discover, opened on the segment's members: the segment's own query as a filter."""
    index_ref = "kibanaSavedObjectMeta.searchSourceJSON.index"
    filter_ref = "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index"
    segment_filter = {
        "meta": {
            "alias": f"segment {segment.name}",
            "negate": False,
            "disabled": False,
            "type": "custom",
            "key": "query",
            "value": json.dumps(segment.query),
            "indexRefName": filter_ref,
        },
        "query": segment.query,
        "$state": {"store": "appState"},
    }
    source = {
        "query": {"query": "", "language": "lucene"},
        "filter": [segment_filter],
        "indexRefName": index_ref,
    }
    return {
        "type": "search",
        "id": id_,
        **SEARCH_MIGRATION,
        "attributes": {
            "title": f"Segment: {segment.name}",
            "description": segment.description,
            "columns": list(SEGMENT_COLUMNS),
            "sort": [["last_seen", "desc"]],
            "hits": 0,
            "version": 1,
            # Segments are about people, whenever they arrived: not the last 15 minutes.
            "timeRestore": True,
            "timeRange": {"from": "now-20y", "to": "now"},
            "refreshInterval": {"pause": True, "value": 0},
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
        },
        "references": [
            {"type": "index-pattern", "id": data_view_id, "name": index_ref},
            {"type": "index-pattern", "id": data_view_id, "name": filter_ref},
        ],
    }


def saved_objects(names: Names, segments: list[SegmentSearch]) -> list[dict[str, Any]]:
    """Every object, referenced ones before those that refer to them."""
    ids = Ids(names)
    users, events = ids("users"), ids("events")
    views = [
        data_view(users, names.users_alias, "authstream customers", USERS_TIME_FIELD, USERS_HIDDEN),
        data_view(events, names.events_stream, "authstream events", "@timestamp"),
    ]
    searches = [saved_search(ids(f"segment-{s.name}"), s, users) for s in segments]
    charts = [chart.saved_object() for chart in visualizations(ids, users, events)]
    where = customer_map(ids("map"), users, events)
    board = dashboard(ids("dashboard"), [*charts, where, *searches])
    return [*views, *searches, *charts, where, board]


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n" for obj in objects)


def builtin_segments() -> list[SegmentSearch]:
    """The segment definitions as saved searches need them: the one place that knows how segments
    are stored (``consumers.segments.definitions``)."""
    from consumers.segments.definitions import load_segments

    return [
        SegmentSearch(segment.name, segment.describe(), segment.render())
        for segment in load_segments().values()
    ]
