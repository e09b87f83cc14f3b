import asyncio

import pytest

from consumers.broker import admin
from consumers.core.errors import ConfigurationError
from consumers.core.settings import Settings
from tests.conftest import ServiceUrls


async def _open(settings: Settings) -> None:
    async with admin.connect(settings):
        pass


def test_wrong_credentials_are_a_configuration_error(services: ServiceUrls) -> None:
    url = services.amqp_url.replace("guest:guest", "guest:wrong-pass-123")
    with pytest.raises(ConfigurationError) as info:
        asyncio.run(_open(Settings(amqp_url=url)))
    assert "rejected the credentials" in str(info.value)
    assert "wrong-pass-123" not in str(info.value)
