"""Lens visualizations as Kibana saved objects (``type: lens``), built from a few parts.

The shape follows Kibana 8.x (the ``formBased`` datasource, pie ``primaryGroups``/``metrics``): a
layer of columns over one data view, referenced as ``indexpattern-datasource-layer-<layer id>``,
and a visualization that points at the columns by id. Queries inside are Lucene syntax, which
Elasticsearch itself parses (``query_string``), so the tests can run every one of them against
the real mapping.
"""

from dataclasses import dataclass, field
from typing import Any

RECORDS = "___records___"  # Lens's name for "count documents"
LENS_MIGRATION = {"coreMigrationVersion": "8.8.0", "typeMigrationVersion": "8.9.0"}


@dataclass(frozen=True)
class Column:
    """One Lens column: a bucket (terms, date histogram, filters) or a metric (count, average)."""

    id: str
    spec: dict[str, Any]


def count(id_: str, label: str = "Count of records") -> Column:
    return Column(
        id_,
        {
            "label": label,
            "dataType": "number",
            "operationType": "count",
            "sourceField": RECORDS,
            "isBucketed": False,
            "scale": "ratio",
            "params": {"emptyAsNull": True},
            "customLabel": True,
        },
    )


def average(id_: str, field_name: str, label: str) -> Column:
    return Column(
        id_,
        {
            "label": label,
            "dataType": "number",
            "operationType": "average",
            "sourceField": field_name,
            "isBucketed": False,
            "scale": "ratio",
            "customLabel": True,
        },
    )


def date_histogram(id_: str, field_name: str) -> Column:
    return Column(
        id_,
        {
            "label": field_name,
            "dataType": "date",
            "operationType": "date_histogram",
            "sourceField": field_name,
            "isBucketed": True,
            "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
        },
    )


def terms(
    id_: str,
    field_name: str,
    label: str,
    order_by: str,
    size: int = 10,
    data_type: str = "string",
    missing: bool = False,
) -> Column:
    return Column(
        id_,
        {
            "label": label,
            "dataType": data_type,
            "operationType": "terms",
            "sourceField": field_name,
            "isBucketed": True,
            "scale": "ordinal",
            "params": {
                "size": size,
                "orderBy": {"type": "column", "columnId": order_by},
                "orderDirection": "desc",
                "otherBucket": True,
                "missingBucket": missing,
                "parentFormat": {"id": "terms"},
            },
            "customLabel": True,
        },
    )


def filters(id_: str, label: str, buckets: list[tuple[str, str]]) -> Column:
    """Buckets defined by Lucene queries: ``[(label, query), ...]``."""
    return Column(
        id_,
        {
            "label": label,
            "dataType": "string",
            "operationType": "filters",
            "isBucketed": True,
            "scale": "ordinal",
            "params": {
                "filters": [
                    {"label": name, "input": {"query": query, "language": "lucene"}}
                    for name, query in buckets
                ]
            },
            "customLabel": True,
        },
    )


@dataclass(frozen=True)
class Lens:
    id: str
    title: str
    data_view: str  # saved object id of the data view
    layer: str  # layer id, unique within the visualization
    columns: list[Column]
    visualization_type: str  # lnsXY, lnsPie, lnsMetric
    visualization: dict[str, Any]
    query: str = ""  # Lucene, applied to the whole visualization
    description: str = ""
    references: list[dict[str, str]] = field(default_factory=list)

    def saved_object(self) -> dict[str, Any]:
        layer = {
            "columnOrder": [c.id for c in self.columns],
            "columns": {c.id: c.spec for c in self.columns},
            "incompleteColumns": {},
        }
        return {
            "type": "lens",
            "id": self.id,
            **LENS_MIGRATION,
            "attributes": {
                "title": self.title,
                "description": self.description,
                "visualizationType": self.visualization_type,
                "state": {
                    "datasourceStates": {"formBased": {"layers": {self.layer: layer}}},
                    "visualization": self.visualization,
                    "query": {"query": self.query, "language": "lucene"},
                    "filters": [],
                    "internalReferences": [],
                    "adHocDataViews": {},
                },
            },
            "references": [
                {
                    "type": "index-pattern",
                    "id": self.data_view,
                    "name": f"indexpattern-datasource-layer-{self.layer}",
                }
            ],
        }


def xy(layer: str, series: str, x: str, y: list[str], split: str | None = None) -> dict[str, Any]:
    """A bar or line chart: ``series`` is bar_stacked, bar_horizontal, line, area..."""
    data_layer: dict[str, Any] = {
        "layerId": layer,
        "layerType": "data",
        "seriesType": series,
        "xAccessor": x,
        "accessors": y,
    }
    if split is not None:
        data_layer["splitAccessor"] = split
    return {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "preferredSeriesType": series,
        "layers": [data_layer],
    }


def pie(layer: str, group: str, metric: str, shape: str = "donut") -> dict[str, Any]:
    return {
        "shape": shape,
        "layers": [
            {
                "layerId": layer,
                "layerType": "data",
                "primaryGroups": [group],
                "metrics": [metric],
                "numberDisplay": "percent",
                "categoryDisplay": "default",
                "legendDisplay": "default",
                "nestedLegend": False,
            }
        ],
    }


def metric(layer: str, value: str) -> dict[str, Any]:
    return {"layerId": layer, "layerType": "data", "metricAccessor": value}
