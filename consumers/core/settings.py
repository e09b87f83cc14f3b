"""One typed settings object, read from ``AUTHSTREAM_*`` environment variables.

Created in ``main()`` and passed in; nothing reads the environment at import time. Secrets are
``SecretStr`` (and the AMQP URL's password is masked by ``redact_url``), so they never print.
"""

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class Settings(BaseSettings):
    """Every knob authstream has. Environment variable: ``AUTHSTREAM_`` + field name in capitals."""

    model_config = SettingsConfigDict(env_prefix="AUTHSTREAM_", extra="ignore")

    # Connections
    amqp_url: SecretStr = Field(
        default=SecretStr("amqp://guest:guest@127.0.0.1:5672/"),
        description="RabbitMQ URL (amqps:// in production); holds a password, so it is secret.",
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
    retry_delays_ms: list[int] = Field(
        default=[1_000, 10_000, 60_000],
        min_length=1,
        description="Delay before retry 1, 2, 3...; the last one repeats. JSON list.",
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

    # Auth0 Log Stream ingest
    ingest_token: SecretStr | None = Field(
        default=None, description="The Log Stream's Authorization token (required by ingest)."
    )
    ingest_max_bytes: int = Field(
        default=5 * 1_048_576, ge=1_024, description="Largest accepted webhook body (bytes)."
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

    # Operations
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics_host: str = Field(
        # All interfaces by default: Prometheus scrapes workers from another host or container.
        default="0.0.0.0",  # noqa: S104
        description="Where `authstream run` serves /metrics.",
    )
    metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Prometheus /metrics port of `authstream run` (0: off).",
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

    @property
    def amqp_url_redacted(self) -> str:
        return redact_url(self.amqp_url.get_secret_value())

    def secret_values(self) -> list[str]:
        """Every secret string in force, for the log redaction processor."""
        # The AMQP URL is not masked whole (logs name the broker): its password is, below.
        secrets = [
            value.get_secret_value()
            for name, value in self
            if isinstance(value, SecretStr) and name != "amqp_url"
        ]
        password = urlsplit(self.amqp_url.get_secret_value()).password
        if password:
            secrets.append(password)
        return [s for s in secrets if len(s) >= 4]
