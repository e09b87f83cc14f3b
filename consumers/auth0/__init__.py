"""Auth0 Management API: the client, the users sync, and Log Stream reconciliation.

``AUTHSTREAM_AUTH0_DOMAIN`` is the tenant's domain (``innovashoes.eu.auth0.com``, reached over
https) or a full base URL used as given (``http://127.0.0.1:8089`` in tests). The Machine-to-
Machine application's client ID and secret get a client-credentials token for the audience
``https://<domain>/api/v2/`` (``AUTHSTREAM_AUTH0_AUDIENCE`` when the domain is a custom domain).
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from consumers.core.errors import ConfigurationError
from consumers.core.settings import Settings

_BARE_DOMAIN = re.compile(
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d+)?$"
)
_AUTH0_HOST = re.compile(r"^([a-z0-9][a-z0-9-]*)\.(?:[a-z0-9-]+\.)?auth0\.com$")


@dataclass(frozen=True)
class Auth0Config:
    base_url: str  # where the Management API and /oauth/token are, without a trailing slash
    audience: str
    client_id: str
    client_secret: SecretStr
    tenant: str | None  # the tenant's name, for events whose record names none


def missing_configuration(settings: Settings) -> str | None:
    """Why the Auth0 sync and the auth0 stage cannot run, or None."""
    secret = settings.auth0_client_secret
    missing = [
        f"AUTHSTREAM_AUTH0_{name.upper()}"
        for name, value in (
            ("domain", settings.auth0_domain),
            ("client_id", settings.auth0_client_id),
            ("client_secret", secret.get_secret_value() if secret else None),
        )
        if not (value or "").strip()
    ]
    return f"{', '.join(missing)} not set" if missing else None


def base_url_of(domain: str) -> str:
    """A bare domain means https; a full URL is used as given."""
    text = domain.strip().rstrip("/")
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"AUTHSTREAM_AUTH0_DOMAIN: not an http(s) URL: {domain!r}")
        return text
    if not _BARE_DOMAIN.match(text.lower()):
        raise ConfigurationError(
            f"AUTHSTREAM_AUTH0_DOMAIN: expected a domain such as innovashoes.eu.auth0.com or a "
            f"URL, got {domain!r}"
        )
    return f"https://{text.lower()}"


def tenant_of_domain(base_url: str) -> str | None:
    match = _AUTH0_HOST.match(urlsplit(base_url).hostname or "")
    return match.group(1) if match else None


def auth0_config(settings: Settings) -> Auth0Config:
    reason = missing_configuration(settings)
    if reason:
        raise ConfigurationError(f"the Auth0 Management API is not configured: {reason}")
    assert settings.auth0_domain and settings.auth0_client_id and settings.auth0_client_secret
    base_url = base_url_of(settings.auth0_domain)
    audience = settings.auth0_audience or f"https://{urlsplit(base_url).netloc}/api/v2/"
    return Auth0Config(
        base_url=base_url,
        audience=audience,
        client_id=settings.auth0_client_id,
        client_secret=settings.auth0_client_secret,
        tenant=settings.auth0_tenant or tenant_of_domain(base_url),
    )


def default_tenant(settings: Settings) -> str | None:
    """The tenant name to give events whose Auth0 record names none (for the Log Stream mapping),
    from the settings alone: it never fails, even when the Management API is not configured."""
    if settings.auth0_tenant:
        return settings.auth0_tenant
    try:
        return (
            tenant_of_domain(base_url_of(settings.auth0_domain)) if settings.auth0_domain else None
        )
    except ConfigurationError:
        return None


def history_only_families(settings: Settings) -> frozenset[str]:
    """``AUTHSTREAM_AUTH0_LOGS_HISTORY_ONLY``, checked against the catalogue's families."""
    from consumers.ingest.auth0_log_types import catalogue  # data loaded only when needed

    chosen = {f.strip() for f in settings.auth0_logs_history_only.split(",") if f.strip()}
    unknown = sorted(chosen - catalogue().families.keys())
    if unknown:
        raise ConfigurationError(
            f"AUTHSTREAM_AUTH0_LOGS_HISTORY_ONLY: unknown family {', '.join(unknown)}; "
            f"known: {', '.join(catalogue().families)}"
        )
    return frozenset(chosen)
