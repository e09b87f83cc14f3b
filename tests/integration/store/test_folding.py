"""Accent folding by the cluster: detected at setup, kept by an index that has it."""

import asyncio

import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.store import elastic, folding
from consumers.store.provision import provision_elasticsearch
from tests import search


def has_analysis_common(settings: Settings) -> bool:
    with search.client(settings) as es:
        nodes = es.nodes.info(metric="plugins")["nodes"].values()
        return all(
            "analysis-common" in {m["name"] for m in node.get("modules", [])} for node in nodes
        )


def test_setup_detects_whether_the_cluster_folds(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = has_analysis_common(settings)

    async def detect() -> bool:
        async with elastic.connect(settings) as es:
            return await folding.cluster_can_fold(es)

    assert asyncio.run(detect()) is expected
    assert main(["setup"]) == 0
    assert folding.describe(expected) in capsys.readouterr().out
    alias = Names(settings.name_prefix).users_alias
    with search.client(settings) as es:
        mapping = next(iter(es.indices.get_mapping(index=alias).body.values()))["mappings"]
    analyzer = mapping["properties"]["search"]["analyzer"]
    assert analyzer == (folding.FOLDING_ANALYZER if expected else "standard")


def test_an_index_created_with_the_analyzer_keeps_it_when_the_mapping_grows(
    settings: Settings,
) -> None:
    """As on a cluster with analysis-common (the analyzer is built from core parts here)."""
    names = Names(settings.name_prefix)
    index = names.users_index(1)
    mapping = folding.users_mapping(True)
    old = {k: v for k, v in mapping["properties"].items() if k not in ("user", "email")}
    with search.client(settings) as es:
        es.indices.create(
            index=index,
            settings={
                "analysis": {
                    "analyzer": {
                        folding.FOLDING_ANALYZER: {"type": "custom", "tokenizer": "standard"}
                    }
                }
            },
            mappings={"dynamic": False, "properties": old, "_meta": {"fingerprint": "older"}},
            aliases={names.users_alias: {"is_write_index": True}},
        )

    async def provision() -> list[str]:
        async with elastic.connect(settings) as es:
            assert await folding.index_folds(es, names.users_alias)
            return [c.action for c in await provision_elasticsearch(es, settings)]

    assert "updated" in asyncio.run(provision())  # the new fields were added in place
    with search.client(settings) as es:
        properties = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert properties["search"]["analyzer"] == folding.FOLDING_ANALYZER
    assert properties["user"]["properties"]["email"] == {"type": "alias", "path": "email"}
