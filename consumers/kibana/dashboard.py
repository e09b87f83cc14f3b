"""The marketer's dashboard: Lens charts and a map over the users and events data views.

It follows the seed article's sample: signups and logins over time, gender, age bands, identity
providers, top interests, returned or not, sentiment, consent, and a map. Its time range (90 days)
selects events by ``@timestamp`` and customers by ``first_seen`` (the users data view's time field).
"""

import json
from typing import Any, Protocol

from consumers.kibana import lens
from consumers.kibana.lens import Lens

DASHBOARD_MIGRATION = {"coreMigrationVersion": "8.8.0", "typeMigrationVersion": "8.7.0"}
MAP_MIGRATION = {"coreMigrationVersion": "8.8.0", "typeMigrationVersion": "8.4.0"}
PANEL_VERSION = "8.11.0"
AGE_BANDS = [
    ("under 20", "birth_date:{now-20y/d TO *}"),
    ("20-29", "birth_date:{now-30y/d TO now-20y/d]"),
    ("30-39", "birth_date:{now-40y/d TO now-30y/d]"),
    ("40-49", "birth_date:{now-50y/d TO now-40y/d]"),
    ("50-64", "birth_date:{now-65y/d TO now-50y/d]"),
    ("65 and over", "birth_date:[* TO now-65y/d]"),
]


class Ids(Protocol):
    def __call__(self, kind: str) -> str: ...


def visualizations(ids: Ids, users: str, events: str) -> list[Lens]:
    """The dashboard's charts (Lens), in reading order."""
    return [
        Lens(ids("lens-customers"), "Customers", users, "l", [lens.count("m", "Customers")],
             "lnsMetric", lens.metric("l", "m")),
        Lens(ids("lens-logins"), "Logins", events, "l", [lens.count("m", "Logins")],
             "lnsMetric", lens.metric("l", "m"), query='event.action:"auth.login"'),
        Lens(ids("lens-consenting"), "Marketing consent granted", users, "l",
             [lens.count("m", "Granted")], "lnsMetric", lens.metric("l", "m"),
             query="marketing_consent:granted"),
        Lens(ids("lens-sentiment-score"), "Average brand sentiment", users, "l",
             [lens.average("m", "sentiment.score", "Sentiment (-1 to 1)")], "lnsMetric",
             lens.metric("l", "m")),
        Lens(ids("lens-activity"), "Signups and logins per day", events, "l",
             [lens.date_histogram("x", "@timestamp"), lens.count("y", "Events"),
              lens.terms("s", "event.action", "Event", "y", size=5)],
             "lnsXY", lens.xy("l", "bar_stacked", "x", ["y"], split="s"),
             query='event.action:("auth.signup" OR "auth.login")'),
        Lens(ids("lens-providers"), "Identity providers", users, "l",
             [lens.terms("g", "providers", "Provider", "m"), lens.count("m", "Customers")],
             "lnsXY", lens.xy("l", "bar_horizontal", "g", ["m"])),
        Lens(ids("lens-gender"), "Gender", users, "l",
             [lens.terms("g", "gender", "Gender", "m", size=5, missing=True),
              lens.count("m", "Customers")],
             "lnsPie", lens.pie("l", "g", "m")),
        Lens(ids("lens-age"), "Age bands", users, "l",
             [lens.filters("g", "Age", AGE_BANDS), lens.count("m", "Customers")],
             "lnsXY", lens.xy("l", "bar", "g", ["m"]),
             description="From birth dates, as of today: bands follow birthdays."),
        Lens(ids("lens-returned"), "Came back after signing up", users, "l",
             [lens.terms("g", "returned", "Returned", "m", size=2, data_type="boolean"),
              lens.count("m", "Customers")],
             "lnsPie", lens.pie("l", "g", "m"), query="signed_up_at:[* TO now-7d/d]",
             description="Customers who signed up at least 7 days ago."),
        Lens(ids("lens-interests"), "Top interests", users, "l",
             [lens.terms("g", "interests", "Interest", "m"), lens.count("m", "Customers")],
             "lnsXY", lens.xy("l", "bar_horizontal", "g", ["m"])),
        Lens(ids("lens-sentiment"), "Brand sentiment", users, "l",
             [lens.terms("g", "sentiment.label", "Sentiment", "m", size=3),
              lens.count("m", "Customers")],
             "lnsPie", lens.pie("l", "g", "m")),
        Lens(ids("lens-consent"), "Marketing consent", users, "l",
             [lens.terms("g", "marketing_consent", "Consent", "m", size=3, missing=True),
              lens.count("m", "Customers")],
             "lnsPie", lens.pie("l", "g", "m")),
    ]  # fmt: skip


def customer_map(id_: str, users: str, events: str) -> dict[str, Any]:
    """Where customers live (profile locations) and where they log in from (events)."""
    layers = [
        {
            "id": "basemap",
            "type": "EMS_VECTOR_TILE",
            "sourceDescriptor": {"type": "EMS_TMS", "isAutoSelect": True},
            "style": {"type": "TILE"},
            "alpha": 1,
            "visible": True,
            "minZoom": 0,
            "maxZoom": 24,
            "label": None,
        },
        {
            "id": "customers",
            "type": "GEOJSON_VECTOR",
            "label": "Customers",
            "sourceDescriptor": {
                "id": "customers-source",
                "type": "ES_GEO_GRID",
                "geoField": "location.point",
                "requestType": "point",
                "resolution": "COARSE",
                "metrics": [{"type": "count"}],
                "applyGlobalQuery": True,
                "applyGlobalTime": False,  # where people live, whenever they arrived
                "indexPatternRefName": "layer_1_source_index_pattern",
            },
            "style": {"type": "VECTOR", "properties": {}},
            "alpha": 0.75,
            "visible": True,
            "minZoom": 0,
            "maxZoom": 24,
        },
        {
            "id": "logins",
            "type": "HEATMAP",
            "label": "Logins",
            "sourceDescriptor": {
                "id": "logins-source",
                "type": "ES_GEO_GRID",
                "geoField": "source.geo.location",
                "requestType": "heatmap",
                "resolution": "MOST_FINE",
                "metrics": [{"type": "count"}],
                "applyGlobalQuery": True,
                "applyGlobalTime": True,
                "indexPatternRefName": "layer_2_source_index_pattern",
            },
            "style": {"type": "HEATMAP", "colorRampName": "Blues"},
            "alpha": 0.75,
            "visible": True,
            "minZoom": 0,
            "maxZoom": 24,
        },
    ]
    state = {
        "zoom": 1.5,
        "center": {"lon": 0, "lat": 20},
        "query": {"query": "", "language": "lucene"},
        "filters": [],
    }
    return {
        "type": "map",
        "id": id_,
        **MAP_MIGRATION,
        "attributes": {
            "title": "Where customers are",
            "description": "",
            "layerListJSON": json.dumps(layers),
            "mapStateJSON": json.dumps(state),
            "uiStateJSON": json.dumps({"isLayerTOCOpen": True, "openTOCDetails": []}),
        },
        "references": [
            {"type": "index-pattern", "id": users, "name": "layer_1_source_index_pattern"},
            {"type": "index-pattern", "id": events, "name": "layer_2_source_index_pattern"},
        ],
    }


# Panel sizes on Kibana's 48-column grid, by kind of chart.
_PANEL_SIZES = {"lnsMetric": (12, 6), "lnsPie": (16, 12), "lnsXY": (24, 12)}


def dashboard(id_: str, panels: list[dict[str, Any]]) -> dict[str, Any]:
    """``panels``: saved objects to show, in reading order (charts, the map, saved searches)."""
    grid: list[dict[str, Any]] = []
    references = []
    x = y = row_height = 0
    for number, obj in enumerate(panels, 1):
        kind = obj["attributes"].get("visualizationType", obj["type"])
        width, height = _PANEL_SIZES.get(kind, (48, 14))
        if x + width > 48:
            x, y, row_height = 0, y + row_height, 0
        index = str(number)
        grid.append(
            {
                "version": PANEL_VERSION,
                "type": obj["type"],
                "gridData": {"x": x, "y": y, "w": width, "h": height, "i": index},
                "panelIndex": index,
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{index}",
            }
        )
        references.append({"name": f"{index}:panel_{index}", "type": obj["type"], "id": obj["id"]})
        x, row_height = x + width, max(row_height, height)
    return {
        "type": "dashboard",
        "id": id_,
        **DASHBOARD_MIGRATION,
        "attributes": {
            "title": "authstream: customers",
            "description": "Signups and logins, who the customers are, what they like, what "
            "they think of the brand, and the campaign segments.",
            "panelsJSON": json.dumps(grid),
            "optionsJSON": json.dumps(
                {"useMargins": True, "syncColors": False, "hidePanelTitles": False}
            ),
            "timeRestore": True,
            "timeFrom": "now-90d",
            "timeTo": "now",
            "refreshInterval": {"pause": True, "value": 60_000},
            "version": 1,
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps(
                    {"query": {"query": "", "language": "lucene"}, "filter": []}
                )
            },
        },
        "references": references,
    }
