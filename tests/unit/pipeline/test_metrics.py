"""Label sets exist from the first scrape: rates, absent() and alerts work before any work."""

from prometheus_client import REGISTRY

from consumers.pipeline import metrics


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_a_stage_exports_every_series_at_zero_before_its_first_batch() -> None:
    metrics.start_stage("unit-stage")
    for outcome in metrics.OUTCOMES:
        assert value("authstream_messages_total", stage="unit-stage", outcome=outcome) == 0
    assert value("authstream_dependency_down", stage="unit-stage") == 0
    assert value("authstream_broker_reconnects_total", stage="unit-stage") == 0
    assert value("authstream_duplicate_events_total", stage="unit-stage") == 0
    assert value("authstream_event_lag_seconds_count", stage="unit-stage") == 0
    assert value("authstream_batch_duration_seconds_count", stage="unit-stage") == 0


def test_bulk_providers_and_ingest_series_exist_before_use() -> None:
    metrics.start_bulk("unit-bulk")
    assert value("authstream_bulk_duration_seconds_count", stage="unit-bulk") == 0
    for reason in metrics.BULK_FAILURE_REASONS:
        assert value("authstream_bulk_item_failures_total", stage="unit-bulk", reason=reason) == 0
    metrics.start_provider("unit-provider")
    for outcome in metrics.THIRD_PARTY_OUTCOMES:
        series = {"provider": "unit-provider", "outcome": outcome}
        assert value("authstream_third_party_calls_total", **series) == 0
    assert value("authstream_third_party_circuit_open", provider="unit-provider") == 0
    assert value("authstream_third_party_auth_rejected", provider="unit-provider") == 0
    metrics.start_ingest()
    for code in metrics.INGEST_ANSWERS:
        assert value("authstream_ingest_requests_total", code=code) is not None


def test_build_info_names_the_version() -> None:
    from consumers import __version__

    samples = {
        s.labels["version"]
        for family in REGISTRY.collect()
        if family.name == "authstream_build"
        for s in family.samples
    }
    assert samples == {__version__}
