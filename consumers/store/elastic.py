"""The Elasticsearch client, built from settings, with its exceptions translated once, here."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import elasticsearch
import orjson
from elasticsearch import AsyncElasticsearch
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer

from consumers.core.errors import ConfigurationError, DocumentRejected, ElasticsearchUnavailable
from consumers.core.settings import Settings

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})

# Statuses a poll for "is it searchable yet?" reads as "not yet": the index may not exist, and a
# data stream created by its first write answers 503 (no shard available) until its shard starts.
NOT_YET_SEARCHABLE = (404, 503)


class OrjsonNdjsonSerializer(NdjsonSerializer):
    """Bulk bodies through orjson: the standard library's json was a tenth of the indexer's CPU."""

    def json_dumps(self, data: Any) -> bytes:
        return orjson.dumps(data, default=self.default)

    def json_loads(self, data: bytes) -> Any:
        return orjson.loads(data)

    def dumps(self, data: Any) -> bytes:
        """The bulk body in one join (the index stage hands its profiles over as JSON already):
        the client's line-by-line loop was 3-4% of the stage's samples."""
        if isinstance(data, bytes | str):
            return super().dumps(data)
        return b"".join(map(self._line, data))

    def _line(self, line: Any) -> bytes:
        if isinstance(line, str):
            line = line.encode("utf-8", "surrogatepass")
        if isinstance(line, bytes):
            return line if line.endswith(b"\n") else line + b"\n"
        return orjson.dumps(line, default=self.default, option=orjson.OPT_APPEND_NEWLINE)


def _serializers() -> dict[str, Any]:
    json, ndjson = OrjsonSerializer(), OrjsonNdjsonSerializer()
    return {
        "application/json": json,
        "application/vnd.elasticsearch+json": json,
        "application/x-ndjson": ndjson,
        "application/vnd.elasticsearch+x-ndjson": ndjson,
    }


def client_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "hosts": [url.strip() for url in settings.elasticsearch_url.split(",") if url.strip()],
        "request_timeout": settings.elasticsearch_timeout_s,
        # Retries are our policy (consumers.errors / the worker loop), not the transport's.
        "max_retries": 0,
        "retry_on_timeout": False,
        "serializers": _serializers(),
    }
    if settings.elasticsearch_api_key is not None:
        options["api_key"] = settings.elasticsearch_api_key.get_secret_value()
    elif settings.elasticsearch_username and settings.elasticsearch_password is not None:
        options["basic_auth"] = (
            settings.elasticsearch_username,
            settings.elasticsearch_password.get_secret_value(),
        )
    if settings.elasticsearch_ca_certs is not None:
        options["ca_certs"] = str(settings.elasticsearch_ca_certs)
    return options


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS


def _credentials_hint(settings: Settings) -> str:
    if settings.elasticsearch_api_key is not None:
        return "check AUTHSTREAM_ELASTICSEARCH_API_KEY"
    if settings.elasticsearch_username:
        return "check AUTHSTREAM_ELASTICSEARCH_USERNAME and AUTHSTREAM_ELASTICSEARCH_PASSWORD"
    return "it wants credentials: set AUTHSTREAM_ELASTICSEARCH_API_KEY (or _USERNAME and _PASSWORD)"


def credentials_rejected(settings: Settings, status: int) -> ConfigurationError:
    where = settings.elasticsearch_url_redacted
    if status == 401:
        hint = _credentials_hint(settings)
        return ConfigurationError(
            f"Elasticsearch at {where} rejected the credentials (401): {hint}"
        )
    return ConfigurationError(
        f"Elasticsearch at {where} refused the request ({status}): the user or API key lacks a "
        "privilege authstream needs"
    )


def tls_failed(settings: Settings, exc: BaseException) -> ConfigurationError:
    """A TLS handshake that failed: a server that speaks plain HTTP (an https:// URL for a node
    without TLS), or a certificate this process does not trust."""
    where = settings.elasticsearch_url_redacted
    if "WRONG_VERSION_NUMBER" in repr(exc.__cause__ or exc).upper():
        return ConfigurationError(
            f"Elasticsearch at {where} does not speak TLS there: if the node serves plain HTTP, "
            "write http:// in AUTHSTREAM_ELASTICSEARCH_URL"
        )
    return ConfigurationError(
        f"Elasticsearch at {where}: its TLS certificate is not trusted; set "
        "AUTHSTREAM_ELASTICSEARCH_CA_CERTS to the CA that signed it"
    )


@contextmanager
def elasticsearch_errors(settings: Settings) -> Iterator[None]:
    """Map client exceptions onto the authstream error tree (no credentials in messages)."""
    where = settings.elasticsearch_url_redacted
    try:
        yield
    except (elasticsearch.AuthenticationException, elasticsearch.AuthorizationException) as exc:
        raise credentials_rejected(settings, exc.meta.status) from None
    except elasticsearch.ApiError as exc:
        if is_retryable_status(exc.meta.status):
            raise ElasticsearchUnavailable(f"Elasticsearch answered {exc.meta.status}") from exc
        raise DocumentRejected(f"Elasticsearch rejected the request: {exc.message}") from exc
    except elasticsearch.SSLError as exc:
        raise tls_failed(settings, exc) from None
    except (elasticsearch.ConnectionError, elasticsearch.ConnectionTimeout) as exc:
        raise ElasticsearchUnavailable(
            f"Elasticsearch at {where} is unreachable: {type(exc).__name__}"
        ) from None


async def require_accepted_credentials(es: AsyncElasticsearch, settings: Settings) -> None:
    """ConfigurationError now if Elasticsearch rejects the credentials (401) or the certificate:
    a process that waits for events would otherwise sit unready until the first one. A node
    that is down, or a key without the monitor privilege (403 here), is left to the work itself."""
    try:
        await es.cluster.health()
    except elasticsearch.AuthenticationException:
        raise credentials_rejected(settings, 401) from None
    except elasticsearch.SSLError as exc:
        raise tls_failed(settings, exc) from None
    except (elasticsearch.ApiError, elasticsearch.TransportError):
        return


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[AsyncElasticsearch]:
    client = AsyncElasticsearch(**client_options(settings))
    try:
        yield client
    finally:
        await client.close()
