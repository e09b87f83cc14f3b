"""The errors authstream raises, as one small tree.

    AuthstreamError
    ├── RetryableError              transient: the same work may succeed later
    │   ├── BrokerUnavailable           RabbitMQ unreachable or the connection dropped
    │   ├── PublishRefused              the broker did not take a message (nack, or unroutable)
    │   ├── ElasticsearchUnavailable    unreachable, timed out, 429 or 5xx
    │   └── ThirdPartyUnavailable       FullContact, X, Auth0: down, slow, 5xx, or its circuit open
    │       ├── ThirdPartyRateLimited       429, or our own budget is spent: wait, then ask again
    │       └── ThirdPartyAuthRejected      401/403: the stage holds its work and says so loudly
    └── PermanentError              retrying the same input will not help
        ├── InvalidEvent                a message that is not a valid authstream.event/1
        ├── DocumentRejected            Elasticsearch refused a document (mapping, parse: 4xx)
        └── ConfigurationError          bad settings, credentials refused, missing topology
            └── TopologyConflict        an existing queue/exchange/index is declared differently

Foreign exceptions (pika, aio-pika, elasticsearch, httpx) are translated once, where they enter
(pika in ``consumers.broker.link``, aio-pika in ``consumers.broker.admin``, elasticsearch in
``consumers.store.elastic``, httpx in ``consumers.thirdparty.http``); nothing inside the pipeline
catches them again.

A third-party API's rejected credentials hold the stage's work instead of stopping the process:
the stage is optional, the key can be rotated while the queue waits, and indexing goes on.
"""


class AuthstreamError(Exception):
    """Base of every error authstream raises on purpose."""


class RetryableError(AuthstreamError):
    """The operation may succeed if tried again later."""


class BrokerUnavailable(RetryableError):
    pass


class PublishRefused(RetryableError):
    """The broker did not take a message: it nacked it, or returned it as unroutable."""


class ElasticsearchUnavailable(RetryableError):
    pass


class ThirdPartyUnavailable(RetryableError):
    """A third-party API did not answer usefully; ``retry_after``: when to ask again, if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ThirdPartyRateLimited(ThirdPartyUnavailable):
    pass


class ThirdPartyAuthRejected(ThirdPartyUnavailable):
    pass


class PermanentError(AuthstreamError):
    """Retrying the same input will fail the same way."""


class InvalidEvent(PermanentError):
    """A message body that is not a valid event; keeps the raw body and a readable reason."""

    def __init__(self, reason: str, body: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.body = body


class DocumentRejected(PermanentError):
    pass


class ConfigurationError(PermanentError):
    pass


class TopologyConflict(ConfigurationError):
    pass
