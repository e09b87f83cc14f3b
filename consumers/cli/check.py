"""``authstream check``: can we reach RabbitMQ and Elasticsearch — every node of each?

A cluster's client connects to the first node that answers, so a probe that tried the list as the
client does would say "ok" with two of three broker nodes down. Each node is tried on its own
instead: the service is up when one answers (exit 0, as a liveness probe needs), and the nodes
that do not are named on standard error so that an operator sees the cluster degraded before it
is down. No node of a service answering is exit 3; rejected credentials or certificates exit 2.
"""

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import SecretStr

from consumers.broker import admin
from consumers.core.errors import RetryableError
from consumers.core.settings import Settings, redact_url, split_urls
from consumers.store import elastic


@dataclass(frozen=True)
class ServiceCheck:
    """One service's nodes: which answered and why the others did not."""

    service: str
    answered: list[str]
    failed: list[tuple[str, RetryableError]]

    def describe(self) -> str:
        listed = ",".join(self.answered)
        total = len(self.answered) + len(self.failed)
        if total == 1:
            return f"{self.service} {listed}"
        return f"{self.service} {listed} ({len(self.answered)} of {total} nodes)"


async def _broker_node(settings: Settings, url: str) -> None:
    node = settings.model_copy(update={"amqp_url": SecretStr(url)})
    async with admin.connect(node, name="authstream check"):
        pass


async def _elasticsearch_node(settings: Settings, url: str) -> None:
    node = settings.model_copy(update={"elasticsearch_url": url})
    async with elastic.connect(node) as es:
        with elastic.elasticsearch_errors(node):
            await es.cluster.health()


async def _check_nodes(
    service: str, urls: list[str], probe: Callable[[str], Awaitable[None]]
) -> ServiceCheck:
    """Every node probed at once; a ConfigurationError (credentials, TLS) propagates."""
    results = await asyncio.gather(*(probe(url) for url in urls), return_exceptions=True)
    answered: list[str] = []
    failed: list[tuple[str, RetryableError]] = []
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, RetryableError):
            failed.append((redact_url(url), result))
        elif isinstance(result, BaseException):
            raise result
        else:
            answered.append(redact_url(url))
    if not answered:
        raise failed[0][1]
    return ServiceCheck(service, answered, failed)


async def check_services(settings: Settings) -> list[ServiceCheck]:
    broker = await _check_nodes(
        "RabbitMQ", settings.amqp_urls(), lambda url: _broker_node(settings, url)
    )
    search = await _check_nodes(
        "Elasticsearch",
        split_urls(settings.elasticsearch_url),
        lambda url: _elasticsearch_node(settings, url),
    )
    return [broker, search]


def run_check(settings: Settings) -> int:
    checks = asyncio.run(check_services(settings))
    degraded = [(check.service, url, error) for check in checks for url, error in check.failed]
    for service, url, error in degraded:
        warning = f"authstream: warning: {service} node {url} does not answer: {error}"
        print(warning, file=sys.stderr)
    verdict = "ok, degraded" if degraded else "ok"
    print(f"{verdict}: {', '.join(check.describe() for check in checks)}")
    return 0
