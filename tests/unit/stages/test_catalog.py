import pytest

from consumers.core.errors import ConfigurationError
from consumers.core.settings import Settings
from consumers.stages.catalog import StageSpec, enabled_stages, stage_statuses, stages_to_run


def names(specs: list[StageSpec]) -> list[str]:
    return [spec.name for spec in specs]


def test_auto_enables_every_stage_that_is_configured_and_says_why_the_others_are_off() -> None:
    settings = Settings()
    assert names(enabled_stages(settings)) == ["index", "segments"]
    why = {s.name: s.reason for s in stage_statuses(settings) if not s.enabled}
    assert why == {
        "enrich": "AUTHSTREAM_FULLCONTACT_API_KEY is not set",
        "auth0": "AUTHSTREAM_AUTH0_DOMAIN, AUTHSTREAM_AUTH0_CLIENT_ID, "
        "AUTHSTREAM_AUTH0_CLIENT_SECRET not set",
        "sentiment": "AUTHSTREAM_BRAND_HANDLE is not set",
        "destinations": "no segment has a destination",
    }
    with_key = Settings(fullcontact_api_key="fc-key-123")
    assert names(enabled_stages(with_key)) == ["index", "enrich", "segments"]


def test_a_list_names_the_stages_and_an_unconfigured_one_is_an_error() -> None:
    assert names(enabled_stages(Settings(stages="index"))) == ["index"]
    with pytest.raises(ConfigurationError, match="the enrich stage cannot run: AUTHSTREAM_FULL"):
        enabled_stages(Settings(stages="index,enrich"))
    with pytest.raises(ConfigurationError, match=r"unknown stage.*enrihc.*known: index, enrich,"):
        enabled_stages(Settings(stages="index,enrihc"))


def test_run_takes_all_or_a_comma_separated_list_of_enabled_stages() -> None:
    settings = Settings(fullcontact_api_key="fc-key-123")
    assert names(stages_to_run(settings, "all")) == ["index", "enrich", "segments"]
    assert names(stages_to_run(settings, "enrich")) == ["enrich"]
    assert names(stages_to_run(settings, " index , enrich ")) == ["index", "enrich"]
    with pytest.raises(ConfigurationError, match=r"enrich stage is not enabled \(AUTHSTREAM_FULL"):
        stages_to_run(Settings(), "index,enrich")
