"""`authstream bench people` measures what it says, and leaves nothing behind."""

import json

import pytest

from consumers.bench import people
from consumers.cli.main import main
from consumers.core.settings import Settings
from tests import search


def test_people_bench_measures_every_figure_and_removes_its_index(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(people, "TEMPLATES", 200)
    monkeypatch.setattr(people, "COUNT_RUNS", 3)
    monkeypatch.setattr(people, "SEARCH_RUNS", 1)
    argv = ["bench", "people", "--profiles", "4000", "--steps", "2", "--export-members", "1000"]
    assert main(argv) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    first, last = figures["steps"]
    assert (first["profiles"], last["profiles"]) == (2000, 4000)
    assert set(last["counts"]) == set(last["members"]) and len(last["counts"]) >= 3
    assert last["members"]["registered-not-returned"] > 0
    assert last["export"]["rows"] == 1000 and last["export_tenth"]["rows"] == 100
    assert last["export_naive"]["rows"] == 1000 and not first["export_naive"]
    assert last["export"]["rss_peak_mb"] >= last["export"]["rss_start_mb"] > 0
    assert last["search"]["runs"] == len(people.search_mix()[0])
    index = figures["index"]
    assert index.startswith("bench") and index.endswith("-people-authstream-users")
    with search.client(settings) as es:  # the throwaway index is gone (a wildcard: all of it)
        assert es.indices.get(index=index + "*", expand_wildcards="all").body == {}
