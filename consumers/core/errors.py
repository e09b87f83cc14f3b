"""The errors authstream raises, as one small tree.

    AuthstreamError
    ├── RetryableError              transient: the same work may succeed later
    │   ├── BrokerUnavailable           RabbitMQ unreachable or the connection dropped
    │   ├── PublishRefused              the broker did not take a message (nack, or unroutable)
    │   └── ElasticsearchUnavailable    unreachable, timed out, 429 or 5xx
    └── PermanentError              retrying the same input will not help
        ├── InvalidEvent                a message that is not a valid authstream.event/1
        ├── DocumentRejected            Elasticsearch refused a document (mapping, parse: 4xx)
        └── ConfigurationError          bad settings, credentials refused, missing topology
            └── TopologyConflict        an existing queue/exchange/index is declared differently

Foreign exceptions (pika, aio-pika, elasticsearch, httpx) are translated once, where they enter
(pika in ``consumers.broker.link``, aio-pika in ``consumers.broker.admin``, elasticsearch in
``consumers.store.elastic``); nothing inside the pipeline catches them again.
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
