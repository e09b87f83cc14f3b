"""An Auth0 stand-in, and settings (and environment, for the CLI) that point authstream at it."""

from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from schemas import Event
from tests import broker
from tests.standins.auth0_mgmt import AUDIENCE, CLIENT_ID, CLIENT_SECRET, Auth0StandIn

Configure = Callable[..., Settings]


@pytest.fixture
def configure(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Configure:
    """Point the settings (and the environment) at a stand-in; extra AUTHSTREAM_* as keywords."""

    def point_at(standin: Auth0StandIn, **extra: str) -> Settings:
        env = {
            "AUTHSTREAM_AUTH0_DOMAIN": standin.base_url,
            "AUTHSTREAM_AUTH0_CLIENT_ID": CLIENT_ID,
            "AUTHSTREAM_AUTH0_CLIENT_SECRET": CLIENT_SECRET,
            "AUTHSTREAM_AUTH0_AUDIENCE": AUDIENCE,
            "AUTHSTREAM_AUTH0_TENANT": "innovashoes",
            "AUTHSTREAM_AUTH0_RPS": "500",
            "AUTHSTREAM_AUTH0_EXPORT_POLL_S": "0.05",
            "AUTHSTREAM_AUTH0_LOGS_EVERY_S": "0",
            **{f"AUTHSTREAM_{k.upper()}": v for k, v in extra.items()},
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return Settings()

    return point_at


@pytest.fixture
def auth0() -> Iterator[Auth0StandIn]:
    with Auth0StandIn(bucket_size=500, refill_per_second=500) as standin:
        yield standin


def published(settings: Settings) -> list[Event]:
    """Every event waiting in the index stage's queue (taken off it)."""
    queue = Names(settings.name_prefix).work_queue("index")
    return [decode_event(body, 1 << 20) for _, _, body in broker.drain(settings, queue)]


def users_published(settings: Settings) -> Counter[str]:
    events = published(settings)
    assert all(e.type == "user.updated" and e.source == "auth0-sync" for e in events)
    return Counter(e.user.user_id for e in events)
