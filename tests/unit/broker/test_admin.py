import asyncio

import pytest

from consumers.broker import admin
from consumers.core.errors import BrokerUnavailable
from consumers.core.settings import Settings


def test_precondition_failures_become_one_actionable_sentence() -> None:
    text = (
        "(406, \"PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue "
        "'authstream.index' "
        "in vhost '/': received the value 'quorum' of type 'longstr' but current is none\")"
    )
    assert admin.describe_precondition_failure(text) == (
        "queue 'authstream.index' already exists with a different 'x-queue-type': authstream "
        "wants the value 'quorum' of type 'longstr', the broker has none. Delete the queue "
        "(after draining it) or change the settings to match it (e.g. AUTHSTREAM_QUEUE_TYPE)."
    )


async def _open(settings: Settings) -> None:
    async with admin.connect(settings):
        pass


def test_an_unreachable_broker_is_retryable_and_the_password_is_not_shown() -> None:
    settings = Settings(amqp_url="amqp://guest:p4ssw0rd-x@127.0.0.1:1/")
    with pytest.raises(BrokerUnavailable) as info:
        asyncio.run(_open(settings))
    assert "p4ssw0rd-x" not in str(info.value)
    assert "amqp://guest:***@127.0.0.1:1/" in str(info.value)
