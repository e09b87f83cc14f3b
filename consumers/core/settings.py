"""One typed settings object, read from ``AUTHSTREAM_*`` environment variables.

Created in ``main()`` and passed in; nothing reads the environment at import time. Secrets are
``SecretStr`` (and the AMQP URL's password is masked by ``redact_url``), so they never print.
"""

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

NAME_PREFIX_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def redact_url(url: str) -> str:
    """``amqps://user:secret@host/`` → ``amqps://user:***@host/``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


# Characters that end the password in a URL unless percent-encoded.
_URL_DELIMITERS = {"/": "%2F", "#": "%23", "?": "%3F", "@": "%40"}


def _expected_url(schemes: tuple[str, ...]) -> str:
    return f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"


def check_url_list(text: str, schemes: tuple[str, ...]) -> None:
    """One URL, or a cluster's comma-separated list: at least one, each as
    ``check_url_credentials`` wants it."""
    urls = split_urls(text)
    if not urls:
        raise ValueError(_expected_url(schemes))
    for url in urls:
        check_url_credentials(url, schemes)


def check_url_credentials(url: str, schemes: tuple[str, ...]) -> None:
    """Refuse a URL of another scheme, without a host, with a port out of range, or whose password
    breaks it (saying how to encode it), without showing the password."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in schemes:
        raise ValueError(_expected_url(schemes))
    userinfo, at, _ = rest.rpartition("@")
    password = userinfo.partition(":")[2]
    found = sorted(
        {c for c in password if c in _URL_DELIMITERS}
        | ({"@"} if "@" in userinfo.partition(":")[0] else set())
    )
    if found:
        codes = ", ".join(f"'{c}' as {_URL_DELIMITERS[c]}" for c in found)
        raise ValueError(
            f"the password (or user) contains characters that end it in a URL: percent-encode "
            f"them ({codes}); the URL was {scheme}://***@…"
        )
    shown = f"{scheme}://***@…" if at else url
    try:
        urlsplit(url).port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
    except ValueError:
        raise ValueError(f"the port is not a number from 1 to 65535; the URL was {shown}") from None
    if not urlsplit(url).hostname:
        raise ValueError(f"the URL names no host; it was {shown}")


def comma_or_json_list(value: object, example: str) -> object:
    """A list setting's text: comma-separated, as people write it (``example``), or a JSON list."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"write it as {example}, or as a JSON list") from None
    return [part.strip() for part in text.split(",") if part.strip()]


MIN_WRITE_KEY_CHARS = 16
MAX_TTL_MS = 4_294_967_295  # the largest per-message TTL RabbitMQ takes (a retry delay is one)
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def collect_sources(text: str) -> dict[str, str]:
    """``AUTHSTREAM_COLLECT_KEYS`` as write key → source name. Errors name sources, never keys."""
    sources: dict[str, str] = {}
    for position, pair in enumerate((p.strip() for p in text.split(",") if p.strip()), start=1):
        name, separator, key = pair.partition(":")
        name, key = name.strip(), key.strip()
        if not separator or not SOURCE_NAME.match(name):
            raise ValueError(
                f"entry {position} is not SOURCE:KEY with a lower-case source name "
                "(e.g. shop-web:<key>)"
            )
        if len(key) < MIN_WRITE_KEY_CHARS:
            raise ValueError(
                f"the key of {name} is shorter than {MIN_WRITE_KEY_CHARS} characters: choose a "
                "long random one (e.g. `openssl rand -hex 24`)"
            )
        if key in sources or name in sources.values():
            raise ValueError(f"{name} is listed twice, or shares its key with another source")
        sources[key] = name
    if not sources:
        raise ValueError("no SOURCE:KEY pairs")
    return sources


def split_urls(text: str) -> list[str]:
    """``a,b`` → ``[a, b]``: several nodes of one service, as the URL settings take them."""
    return [url.strip() for url in text.split(",") if url.strip()]


class Settings(BaseSettings):
    """Every knob authstream has. Environment variable: ``AUTHSTREAM_`` + field name in capitals."""

    model_config = SettingsConfigDict(env_prefix="AUTHSTREAM_", extra="ignore")

    # Connections
    amqp_url: SecretStr = Field(
        default=SecretStr("amqp://guest:guest@127.0.0.1:5672/"),
        description="RabbitMQ URL (amqps:// in production); holds a password, so it is secret. "
        "A cluster: the nodes' URLs, comma-separated; a connection tries them in turn.",
    )
    elasticsearch_url: str = Field(
        default="http://127.0.0.1:9200", description="Elasticsearch URL(s), comma-separated."
    )
    elasticsearch_api_key: SecretStr | None = Field(
        default=None, description="Elasticsearch API key (the base64 'id:key' form)."
    )
    elasticsearch_username: str | None = Field(default=None, description="Basic-auth user.")
    elasticsearch_password: SecretStr | None = Field(
        default=None, description="Basic-auth password."
    )
    elasticsearch_ca_certs: Path | None = Field(
        default=None, description="CA certificate file for a TLS cluster with a private CA."
    )
    elasticsearch_timeout_s: float = Field(default=30.0, gt=0, description="Per-request timeout.")

    # Names and topology
    name_prefix: str = Field(
        default="",
        description="Prefix for every queue, exchange and index name (isolates tenants and tests).",
    )
    queue_type: Literal["quorum", "classic"] = Field(
        default="quorum", description="RabbitMQ queue type; classic is fine for a single node."
    )
    delivery_limit: int = Field(
        default=20, ge=1, description="Quorum queues: deliveries before the broker parks a message."
    )
    max_attempts: int = Field(
        default=5, ge=1, description="Processing attempts (with delayed retries) before parking."
    )
    retry_delays_ms: Annotated[list[Annotated[int, Field(ge=0, le=MAX_TTL_MS)]], NoDecode] = Field(
        default=[1_000, 10_000, 60_000],
        min_length=1,
        description="Delay before retry 1, 2, 3...; the last one repeats. 1000,10000,60000 or a "
        "JSON list.",
    )
    events_retention: str = Field(
        default="365d", description="How long event documents are kept (data stream lifecycle)."
    )
    stages: str = Field(
        default="auto",
        description="Stages to set up and run: 'auto' (every stage that is built and configured) "
        "or a comma-separated list such as 'index,segments'.",
    )
    rabbitmq_management_url: str | None = Field(
        default=None,
        description="RabbitMQ management API (for `setup` to list leftovers); default: the AMQP "
        "host on port 15672 with the AMQP credentials.",
    )

    # Throughput
    prefetch: int = Field(default=2_000, ge=1, description="Unacked messages a worker may hold.")
    batch_size: int = Field(default=500, ge=1, description="Events per Elasticsearch bulk request.")
    batch_window_ms: int = Field(
        default=100, ge=1, description="Longest wait to fill a batch before flushing it anyway."
    )
    publish_window: int = Field(
        default=1_000, ge=1, description="Messages in flight awaiting publisher confirms."
    )
    max_event_bytes: int = Field(
        default=1_048_576, ge=1_024, description="Largest accepted event body (bytes)."
    )
    profile_cache: int = Field(
        default=1_000,
        ge=0,
        description="Profiles the index stage keeps from its own last writes, so their users' "
        "next events need not read them back (about 14 KB each; 0 reads every profile).",
    )

    # Auth0 Log Stream ingest
    ingest_token: SecretStr | None = Field(
        default=None, description="The Log Stream's Authorization token (required by ingest)."
    )
    ingest_max_bytes: int = Field(
        default=5 * 1_048_576, ge=1_024, description="Largest accepted webhook body (bytes)."
    )
    ingest_max_concurrent: int = Field(
        default=64, ge=1, description="Requests ingest handles at once (503 beyond)."
    )
    ingest_header_timeout_s: float = Field(
        default=10.0, gt=0, description="A connection's first request must arrive within this."
    )
    ingest_body_timeout_s: float = Field(
        default=30.0, gt=0, description="A request body must arrive within this (408)."
    )

    # Enrich stage: FullContact person enrichment
    fullcontact_api_key: SecretStr | None = Field(
        default=None, description="FullContact API key; the enrich stage is off without it."
    )
    fullcontact_base_url: str = Field(
        default="https://api.fullcontact.com", description="FullContact API base URL."
    )
    fullcontact_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest wait for one FullContact answer."
    )
    fullcontact_daily_budget: int = Field(
        default=1_000, ge=0, description="FullContact calls per UTC day, never exceeded."
    )
    fullcontact_rps: float = Field(
        default=5.0, gt=0, description="FullContact requests per second (per process)."
    )
    enrich_max_age_days: int = Field(
        default=90, ge=1, description="Re-enrich a profile after this many days."
    )

    # Auth0 Management API: sync, profiles for Log Stream users, Log Stream reconciliation
    auth0_domain: str | None = Field(
        default=None,
        description="Tenant domain (innovashoes.eu.auth0.com: https) or a full base URL, used "
        "as given; sync and the auth0 stage are off without it.",
    )
    auth0_client_id: str | None = Field(
        default=None, description="Client ID of the Machine-to-Machine application."
    )
    auth0_client_secret: SecretStr | None = Field(
        default=None, description="Client secret of the Machine-to-Machine application."
    )
    auth0_audience: str | None = Field(
        default=None,
        description="Management API audience; default https://<domain>/api/v2/ (set it when the "
        "domain is a custom domain or a full URL).",
    )
    auth0_tenant: str | None = Field(
        default=None,
        description="Tenant name for events whose Auth0 record names none (custom domains); "
        "default: the first label of an <tenant>.<region>.auth0.com domain.",
    )
    auth0_timeout_s: float = Field(default=15.0, gt=0, description="Per-request timeout.")
    auth0_rps: float = Field(
        default=5.0, gt=0, description="Management API requests per second (per process)."
    )
    auth0_export_poll_s: float = Field(
        default=5.0, gt=0, description="How often the users-export job is polled."
    )
    auth0_export_timeout_s: float = Field(
        default=3_600.0, gt=0, description="Longest wait for a users-export job to complete."
    )
    auth0_logs_every_s: int = Field(
        default=300,
        ge=0,
        description="Log Stream reconciliation interval of the auth0 stage (0: off).",
    )
    auth0_logs_history_only: str = Field(
        default="",
        description="Log record families kept as history only (no profile, no counters), e.g. "
        "'login,signup' when the post-login Action already publishes logins and signups.",
    )
    auth0_logs_max_pages: int = Field(
        default=50, ge=1, description="Pages of 100 logs one reconciliation run reads at most."
    )
    # Finding people: exports and Kibana
    consent_policy: Literal["opt-out", "opt-in"] = Field(
        default="opt-out",
        description="Who exports include: opt-out = everyone but those who refused marketing; "
        "opt-in = only those who granted it.",
    )
    kibana_url: str = Field(
        default="http://127.0.0.1:5601", description="Kibana, for `authstream kibana import`."
    )
    kibana_api_key: SecretStr | None = Field(
        default=None, description="Kibana API key (the base64 'id:key' form)."
    )
    kibana_username: str | None = Field(default=None, description="Kibana basic-auth user.")
    kibana_password: SecretStr | None = Field(default=None, description="Kibana password.")

    # Sentiment stage: brand mentions (imported, or searched on X), scored offline
    brand_handle: str | None = Field(
        default=None,
        description="The brand's X/Twitter handle (InnovaShoes); the sentiment stage is off "
        "without it. Mentions of it are what the stage scores.",
    )
    brand_keywords: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Other words or phrases that name the brand on X, comma-separated (Innova "
        'Stride,InnovaShoes) or a JSON list (["Innova Stride"]); searched besides @handle.',
    )
    x_bearer_token: SecretStr | None = Field(
        default=None,
        description="X API v2 app bearer token; without it the sentiment stage scores imported "
        "mentions only.",
    )
    x_api_base_url: str = Field(default="https://api.x.com", description="X API base URL.")
    x_timeout_s: float = Field(default=10.0, gt=0, description="Longest wait for one X answer.")
    x_rps: float = Field(
        default=0.5, gt=0, description="X requests per second (per process); 450/15 min = 0.5."
    )
    x_monthly_read_budget: int = Field(
        default=10_000,
        ge=0,
        description="Posts read from X per UTC month (what X bills), never exceeded.",
    )
    sentiment_refresh_hours: float = Field(
        default=168.0,
        gt=0,
        description="Look a user's handle up on X again after this long (7 days: the window "
        "recent search covers).",
    )
    sentiment_sweep_minutes: float = Field(
        default=60.0, ge=0, description="Brand-wide X sweep interval (0: no sweep)."
    )
    sentiment_sweep_max_pages: int = Field(
        default=10, ge=1, description="Pages of 100 posts one sweep may read at most."
    )
    sentiment_model: Literal["auto", "classifier", "lexicon"] = Field(
        default="auto",
        description="What scores mentions: the classifier (MiniLM + VADER; auto: when its "
        "weights are installed) or VADER with the brand lexicon alone.",
    )

    # Segments: definitions, real-time membership, destinations
    segments_dir: Path | None = Field(
        default=None,
        description="Directory of segment definition files (*.yaml); the built-in segments "
        "when unset. `authstream segments init DIR` copies the built-in ones there.",
    )
    segments_sweep_minutes: int = Field(
        default=15,
        ge=1,
        description="How often the segments stage re-evaluates time-dependent membership "
        "(ages, 'registered 7 days ago') and catches up with new or edited definitions.",
    )
    destinations_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest wait for a destination webhook to answer."
    )

    # Shop collector: behaviour events over HTTP (`authstream ingest`, POST /v1/events)
    collect_keys: SecretStr | None = Field(
        default=None,
        description="Write keys per source, 'shop-web:KEY1,shop-app:KEY2' (keys of 16+ characters; "
        "the source name is recorded on every event). The collector is off without them.",
    )
    collect_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Browser origins allowed to send events (CORS), comma-separated, e.g. "
        "'https://shop.example.com'; other origins are refused (403, no CORS grant).",
    )
    collect_anonymous_only: str = Field(
        default="",
        description="Sources (comma-separated names from AUTHSTREAM_COLLECT_KEYS) that may send "
        "events of anonymous visitors only: a browser's key is public, so with it nobody can "
        "speak for a known user; visitors are then identified by their login (the Action).",
    )
    collect_tenant: str | None = Field(
        default=None, description="Tenant name on shop events; default: the Auth0 tenant's."
    )
    collect_max_bytes: int = Field(
        default=512 * 1_024, ge=1_024, description="Largest accepted request body (413 beyond)."
    )
    collect_max_events: int = Field(
        default=500, ge=1, description="Most events in one request (413 beyond)."
    )
    collect_rate: float = Field(
        default=200.0, gt=0, description="Events per second each write key may send (per process)."
    )
    collect_burst: int = Field(
        default=1_000,
        ge=1,
        description="Events a write key may send at once before its rate applies (429 beyond).",
    )

    # Operations
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics_host: str = Field(
        # All interfaces by default: Prometheus scrapes workers from another host or container.
        default="0.0.0.0",  # noqa: S104
        description="Where `run`, `ingest` and `sync` serve /metrics, /healthz and /readyz.",
    )
    metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Port of /metrics, /healthz and /readyz of `run`, `ingest`, `sync` (0: off).",
    )
    log_format: Literal["auto", "console", "json"] = Field(
        default="auto", description="auto = console on a terminal, JSON lines otherwise."
    )

    @field_validator("name_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        # Elasticsearch index names must be lower case; keep queue names in step with them.
        if value and not NAME_PREFIX_PATTERN.match(value):
            raise ValueError(
                "use lower-case letters, digits, '-', '_' or '.', starting alphanumeric"
            )
        return value

    @field_validator("amqp_url")
    @classmethod
    def _parseable_amqp_url(cls, value: SecretStr) -> SecretStr:
        check_url_list(value.get_secret_value(), ("amqp", "amqps"))
        return value

    @field_validator("elasticsearch_url")
    @classmethod
    def _parseable_elasticsearch_url(cls, value: str) -> str:
        check_url_list(value, ("http", "https"))
        return value

    @field_validator("elasticsearch_ca_certs")
    @classmethod
    def _usable_ca_certs(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if not value.is_file():
            raise ValueError(f"{value} is not a file (the CA certificate, PEM)")
        url = info.data.get("elasticsearch_url") or ""
        if not any(u.lower().startswith("https://") for u in split_urls(url)):
            raise ValueError(
                "a CA certificate is for TLS, and AUTHSTREAM_ELASTICSEARCH_URL is not https://: "
                "use https:// or unset it"
            )
        return value

    @field_validator("events_retention")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        # Elasticsearch's time units; anything else is refused by the cluster only at setup.
        if not re.fullmatch(r"[1-9][0-9]*(d|h|m|s)", value.strip()):
            raise ValueError("write a duration such as 365d, 90d or 720h")
        return value.strip()

    @field_validator("brand_keywords", mode="before")
    @classmethod
    def _keywords_as_a_list(cls, value: object) -> object:
        return comma_or_json_list(value, "Innova Stride,InnovaShoes")

    @field_validator("retry_delays_ms", mode="before")
    @classmethod
    def _delays_as_a_list(cls, value: object) -> object:
        return comma_or_json_list(value, "1000,10000,60000")

    @field_validator("brand_handle")
    @classmethod
    def _valid_brand_handle(cls, value: str | None) -> str | None:
        # X handles: 1-15 letters, digits or underscores; "@InnovaShoes" and "InnovaShoes" alike.
        if value is None or not value.strip():
            return None
        handle = value.strip().removeprefix("@")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,15}", handle):
            raise ValueError("an X handle is 1-15 letters, digits or underscores")
        return handle

    @field_validator("collect_origins", mode="before")
    @classmethod
    def _origins_as_a_list(cls, value: object) -> object:
        # An origin is scheme://host[:port], exactly as the browser sends it: no path, no slash.
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for origin in value:
                if not isinstance(origin, str) or not re.fullmatch(r"https?://[^/\s]+", origin):
                    raise ValueError(
                        f"{origin!r} is not an origin: write scheme://host[:port], e.g. "
                        "https://shop.example.com"
                    )
        return value

    @field_validator("collect_keys")
    @classmethod
    def _valid_collect_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            collect_sources(value.get_secret_value())  # raises with a reason that shows no key
            return value
        return None

    def amqp_urls(self) -> list[str]:
        """The broker's URLs: one, or a cluster's nodes (connections try them in turn)."""
        return split_urls(self.amqp_url.get_secret_value())

    @property
    def amqp_url_redacted(self) -> str:
        return ",".join(redact_url(url) for url in self.amqp_urls())

    @property
    def elasticsearch_url_redacted(self) -> str:
        return ",".join(redact_url(url.strip()) for url in self.elasticsearch_url.split(","))

    def secret_values(self) -> list[str]:
        """Every secret string in force, for the log redaction processor."""
        # The AMQP URL is not masked whole (logs name the broker): its password is, below.
        secrets = [
            value.get_secret_value()
            for name, value in self
            if isinstance(value, SecretStr) and name != "amqp_url"
        ]
        if self.collect_keys is not None:  # each write key alone, as a request would carry it
            secrets += list(collect_sources(self.collect_keys.get_secret_value()))
        for url in [*self.amqp_urls(), *self.elasticsearch_url.split(",")]:
            password = urlsplit(url.strip()).password
            if password:
                secrets += [password, unquote(password)]
        return [s for s in secrets if len(s) >= 4]


def misspelt_settings(environment: Mapping[str, str]) -> list[str]:
    """``AUTHSTREAM_*`` variables that are no setting but look like one: a typo would otherwise
    leave the default in force without a word (``AUTHSTREAM_AMQP_ULR`` and the local broker).
    Variables unlike any setting (the scripts' own, such as ``AUTHSTREAM_CLUSTER_NODES``) pass."""
    known = [f"AUTHSTREAM_{name.upper()}" for name in Settings.model_fields]
    warnings = []
    for variable in sorted(environment):
        if not variable.startswith("AUTHSTREAM_") or variable in known:
            continue
        close = difflib.get_close_matches(variable, known, n=1, cutoff=0.85)
        if close:
            warnings.append(f"{variable} is not a setting and is ignored: did you mean {close[0]}?")
    return warnings
