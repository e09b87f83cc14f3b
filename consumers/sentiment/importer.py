"""``authstream mentions import``: JSON lines of mentions → the sentiment stage, with confirms.

Each line is validated here (bad lines are reported by number and skipped, like ``authstream
publish``) and published as one ``sentiment.mention`` message to ``authstream.derived``, where
only the sentiment stage's queue takes it. The stage stores, scores and summarises it exactly as
it does a post read from X. Message ids follow from post ids, and the store is create-only, so
importing the same file twice changes nothing.
"""

from collections.abc import Callable
from typing import BinaryIO

import orjson
from pydantic import ValidationError

from consumers.broker import admin
from consumers.broker.link import open_confirm_channel
from consumers.broker.publisher import Publisher, PublishReport, read_lines
from consumers.core.errors import ConfigurationError, InvalidEvent
from consumers.core.names import Names
from consumers.core.progress import Progress
from consumers.core.settings import Settings
from consumers.pipeline.decode import describe_validation_error
from consumers.sentiment.mentions import MentionRecord, mention_event
from consumers.stages.catalog import enabled_stages
from schemas import Event

MAX_LINE_BYTES = 65_536
STAGE = "sentiment"


def parse_mention_line(body: bytes) -> MentionRecord:
    """One import line as a mention, or ``InvalidEvent`` saying why not (no values echoed)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidEvent("not a JSON object")
    try:
        return MentionRecord.model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc)) from None


async def check_stage_ready(settings: Settings) -> None:
    """The sentiment stage's queue must exist, or every mention would be refused as unroutable."""
    if STAGE not in {spec.name for spec in enabled_stages(settings)}:
        raise ConfigurationError(
            "the sentiment stage is off (set AUTHSTREAM_BRAND_HANDLE, then `authstream setup`)"
        )
    queue = Names(settings.name_prefix).work_queue(STAGE)
    async with admin.connect(settings, name="authstream mentions import") as connection:
        with admin.broker_errors(settings):
            if not await admin.exists(connection, "queue", queue):
                raise ConfigurationError(f"{queue} does not exist: run `authstream setup` first")


async def import_mentions(
    stream: BinaryIO,
    settings: Settings,
    *,
    total_bytes: int | None = None,
    on_error: Callable[[int, str], None] | None = None,
) -> PublishReport:
    await check_stage_ready(settings)
    names = Names(settings.name_prefix)
    progress = Progress("importing", total_bytes)
    async with open_confirm_channel(
        settings, name="authstream mentions import", exchange=names.derived_exchange
    ) as channel:
        publisher = Publisher(channel, names.derived_exchange, settings.publish_window)
        done_bytes = 0
        for line in read_lines(stream, MAX_LINE_BYTES):
            done_bytes += line.size
            try:
                if not line.body:
                    raise InvalidEvent(f"line is {line.size:,} bytes, over {MAX_LINE_BYTES:,}")
                record = parse_mention_line(line.body)
            except InvalidEvent as exc:
                publisher.report.failures.append((line.number, exc.reason))
                if on_error is not None:
                    on_error(line.number, exc.reason)
                continue
            envelope = mention_event(record, "import")
            await publisher.publish(
                line.number, Event.model_validate(envelope), orjson.dumps(envelope)
            )
            progress.update(done_bytes, publisher.report.published, len(publisher.report.failures))
        await publisher.drain()
        progress.update(
            done_bytes, publisher.report.published, len(publisher.report.failures), force=True
        )
        progress.close()
    publisher.report.failures.sort()
    return publisher.report
