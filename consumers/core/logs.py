"""structlog set-up: console lines on a terminal, JSON lines otherwise, secrets masked."""

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

Processor = Any  # structlog's processor protocol is too loose to type usefully


def secret_masker(secrets: Iterable[str]) -> Processor:
    """A processor that replaces every known secret value in string fields with ``***``."""
    known = sorted({s for s in secrets if s}, key=len, reverse=True)

    def mask(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if not known:
            return event
        for key, value in event.items():
            if isinstance(value, str):
                for secret in known:
                    if secret in value:
                        value = value.replace(secret, "***")
                event[key] = value
        return event

    return mask


def _stderr_logger(*_: Any) -> structlog.PrintLogger:
    """A logger on whatever ``sys.stderr`` is when it logs, not the stream it was at set-up
    (a replaced or closed stream — a test's captured output — must not break later logging)."""
    return structlog.PrintLogger(file=sys.stderr)


class _CurrentStderr(logging.Handler):
    """Writes to whatever sys.stderr is now (tests swap it), like the structlog logger."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never take the process down
            self.handleError(record)


def _route_library_logs(shared: list[Processor], renderer: Processor, level: str) -> None:
    """Libraries log through the standard library (aiohttp's access and error logs, the
    Elasticsearch transport): send them through the same processors, secret masking included."""
    handler = _CurrentStderr()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    # Replace our own handler if configured before; leave others' (a test runner's) alone.
    for old in [h for h in root.handlers if isinstance(h, _CurrentStderr)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.getLevelNamesMapping()[level.upper()])


def configure_logging(level: str = "info", fmt: str = "auto", secrets: Iterable[str] = ()) -> None:
    # The AMQP clients log connection failures themselves; we translate and report those once.
    for noisy in ("pika", "aiormq", "aio_pika"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    # One line per Elasticsearch request and per httpx call would drown everything else.
    for chatty in ("elastic_transport", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        secret_masker(secrets),
    ]
    _route_library_logs(shared, renderer, level)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
