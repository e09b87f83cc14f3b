"""Every stage authstream has: what it consumes, when it can run, how it is built, and what the
index stage derives for it. Adding a stage is one module and one entry here.

``AUTHSTREAM_STAGES`` picks the stages to set up and run: ``auto`` means every stage whose
configuration is complete (the enrich stage needs a provider key, the sentiment stage a brand
handle); a list names them, and naming one that cannot run is a configuration error that says
what is missing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from elasticsearch import AsyncElasticsearch

from consumers import auth0 as auth0_api
from consumers.broker.topology import Binding
from consumers.core.errors import ConfigurationError
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.enrich import configured_enrichers, missing_configuration
from consumers.pipeline.worker import Stage
from consumers.profile.facts import Taxonomy
from consumers.segments.definitions import load_segments
from consumers.sentiment.mentions import MENTION_TYPE
from consumers.stages import auth0, enrich, sentiment
from consumers.stages.derived import Rule
from consumers.stages.destinations import DestinationsStage, destinations_missing, secrets_for
from consumers.stages.erase import copy_queues
from consumers.stages.index import IndexStage
from consumers.stages.segments import SegmentsStage, membership_may_change, segments_missing


@dataclass(frozen=True)
class StageContext:
    es: AsyncElasticsearch
    settings: Settings
    enabled: tuple["StageSpec", ...]


@dataclass(frozen=True)
class StageSpec:
    name: str
    summary: str
    bindings: tuple[Binding, ...]
    build: Callable[[StageContext], Stage]
    missing: Callable[[Settings], str | None] = lambda _: None  # why it cannot run, or None
    rules: tuple[Rule, ...] = field(default_factory=tuple)  # what the index derives for it
    mode: Callable[[Settings], str] = lambda _: ""  # what it does when on, if that depends


def _index(context: StageContext) -> Stage:
    rules = [rule for spec in context.enabled for rule in spec.rules]
    settings = context.settings
    queues = copy_queues(Names(settings.name_prefix), list(CATALOG), settings.retry_delays_ms)
    return IndexStage(context.es, settings, Taxonomy.load(), rules, queues)


def _enrich(context: StageContext) -> Stage:
    enrichers = {
        name: r.build(context.settings)
        for name, r in configured_enrichers(context.settings).items()
    }
    return enrich.EnrichStage(context.es, context.settings, enrichers)


def _auth0(context: StageContext) -> Stage:
    return auth0.Auth0Stage(context.es, context.settings)


def _sentiment(context: StageContext) -> Stage:
    return sentiment.SentimentStage.from_settings(context.es, context.settings)


def _segments(context: StageContext) -> Stage:
    return SegmentsStage(context.es, context.settings, load_segments(context.settings.segments_dir))


def _destinations(context: StageContext) -> Stage:
    segments = load_segments(context.settings.segments_dir)
    return DestinationsStage(context.es, context.settings, segments, secrets_for(segments))


CATALOG: dict[str, StageSpec] = {
    spec.name: spec
    for spec in (
        StageSpec(
            "index",
            "raw events and findings → event documents + profiles; derives work for the others",
            (Binding("events", "#"),),
            _index,
        ),
        StageSpec(
            "enrich",
            "enrich.requested → FullContact (and other providers) → profile.enriched",
            (Binding("derived", f"{enrich.REQUESTED}.*"),),
            _enrich,
            missing=missing_configuration,
            rules=(enrich.enrichment_wanted,),
        ),
        StageSpec(
            "auth0",
            "sync.requested.auth0 → Auth0 Management API user → user.updated; Log Stream "
            "reconciliation on a schedule",
            (Binding("derived", auth0.ROUTING_KEY),),
            _auth0,
            missing=auth0_api.missing_configuration,
            rules=(auth0.auth0_profile_wanted,),
        ),
        StageSpec(
            "sentiment",
            "sentiment.requested, imported mentions, X → scored mentions → profile.sentiment",
            (Binding("derived", sentiment.REQUESTED), Binding("derived", MENTION_TYPE)),
            _sentiment,
            missing=sentiment.missing_configuration,
            rules=(sentiment.sentiment_wanted,),
            mode=sentiment.describe_mode,
        ),
        StageSpec(
            "segments",
            "profile.changed → every segment evaluated in process → segment.entered / .left",
            (Binding("derived", "profile.changed"),),
            _segments,
            missing=segments_missing,
            rules=(membership_may_change,),
        ),
        StageSpec(
            "destinations",
            "segment.entered / .left → signed webhooks, as each segment's file says",
            (Binding("events", "segment.#"),),
            _destinations,
            missing=destinations_missing,
        ),
    )
}


@dataclass(frozen=True)
class StageStatus:
    name: str
    enabled: bool
    reason: str  # why it is off, when it is (when on: its mode, if that depends on settings)


def stage_statuses(settings: Settings) -> list[StageStatus]:
    """Every stage, whether it is on under these settings, and why not."""
    chosen = _chosen(settings)
    statuses = []
    for name, spec in CATALOG.items():
        missing = spec.missing(settings)
        if chosen is not None and name not in chosen:
            statuses.append(StageStatus(name, False, "not in AUTHSTREAM_STAGES"))
        elif missing:
            statuses.append(StageStatus(name, False, missing))
        else:
            statuses.append(StageStatus(name, True, spec.mode(settings)))
    return statuses


def _chosen(settings: Settings) -> list[str] | None:
    if settings.stages.strip().lower() in ("", "auto"):
        return None
    return parse_stage_list(settings.stages, "AUTHSTREAM_STAGES")


def parse_stage_list(text: str, where: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CATALOG]
    if unknown or not names:
        raise ConfigurationError(
            f"{where}: unknown stage(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(CATALOG)}"
        )
    return names


def enabled_stages(settings: Settings) -> list[StageSpec]:
    """The stages to set up and run; naming one that cannot run is a configuration error."""
    chosen = _chosen(settings)
    if chosen is None:
        return [spec for spec in CATALOG.values() if spec.missing(settings) is None]
    for name in chosen:
        missing = CATALOG[name].missing(settings)
        if missing:
            raise ConfigurationError(f"the {name} stage cannot run: {missing}")
    return [CATALOG[name] for name in chosen]


def stages_to_run(settings: Settings, requested: str) -> list[StageSpec]:
    """``run --stage`` (``all`` or a comma-separated list) among the enabled stages."""
    enabled = enabled_stages(settings)
    if requested.strip() == "all":
        return enabled
    names = parse_stage_list(requested, "--stage")
    off = [n for n in names if n not in {s.name for s in enabled}]
    if off:
        why = {s.name: s.reason for s in stage_statuses(settings)}
        raise ConfigurationError("; ".join(f"the {n} stage is not enabled ({why[n]})" for n in off))
    return [CATALOG[n] for n in names]
