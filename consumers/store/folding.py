"""Accent folding by the cluster, where it can: detected at ``setup``, used by the users index.

Profiles always carry their search words folded by authstream itself (``profile.searchable``), and
``authstream search`` folds its query the same way, so finding "Chloé" by "chloe" works on every
cluster. What the cluster's ``asciifolding`` filter (module analysis-common, absent from the core
distribution) adds is folding of queries typed elsewhere: with it, ``search: chloé`` typed in
Kibana matches too. An analyzer is an index setting fixed at creation, so an index created without
it keeps ``standard`` until the next generation of the users index.
"""

import copy
from typing import Any

from elasticsearch import AsyncElasticsearch

from consumers.store.layout import USERS_MAPPING

FOLDING_ANALYZER = "authstream_folding"
FOLDING_ANALYSIS: dict[str, Any] = {
    "analyzer": {
        FOLDING_ANALYZER: {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding"],
        }
    }
}


async def cluster_can_fold(es: AsyncElasticsearch) -> bool:
    """Does this cluster have the ``asciifolding`` token filter? (400 when the module is absent.)"""
    answer = await es.options(ignore_status=400).indices.analyze(
        tokenizer="standard", filter=["asciifolding"], text="é"
    )
    return answer.meta.status == 200


async def index_folds(es: AsyncElasticsearch, index: str) -> bool:
    """Was this index (or every index behind this alias) created with the folding analyzer?"""
    found = await es.indices.get_settings(index=index, name="index.analysis.analyzer.*")
    analyzers = [
        entry.get("settings", {}).get("index", {}).get("analysis", {}).get("analyzer", {})
        for entry in found.body.values()
    ]
    return bool(analyzers) and all(FOLDING_ANALYZER in found for found in analyzers)


def users_mapping(folding: bool) -> dict[str, Any]:
    """``USERS_MAPPING`` with the search field analyzed by the folding analyzer when available."""
    if not folding:
        return USERS_MAPPING
    mapping = copy.deepcopy(USERS_MAPPING)
    mapping["properties"]["search"]["analyzer"] = FOLDING_ANALYZER
    return mapping


def describe(folding: bool) -> str:
    return (
        "accents folded by the cluster and by authstream"
        if folding
        else "accents folded by authstream only (no analysis-common module)"
    )
