"""`authstream sync auth0` against the Auth0 stand-in, into the real RabbitMQ and Elasticsearch."""

import asyncio
import time
from datetime import UTC, datetime

import pytest

from consumers.auth0.snapshot import EPOCH
from consumers.auth0.sync import LEASE_KEY, LEASE_TTL, SyncReport, sync_users
from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.store import elastic
from consumers.store.state import StateStore
from tests.integration.auth0.conftest import Configure, users_published
from tests.standins.auth0_mgmt import Auth0StandIn


class Interrupted(Exception):
    """Stands for a crash or Ctrl-C between two pages."""


def interrupt_after(users: int):  # type: ignore[no-untyped-def]
    def hook(report: SyncReport) -> None:
        if report.published >= users:
            raise Interrupted

    return hook


def test_a_tenant_over_the_search_cap_is_synced_whole_then_only_what_changed(
    auth0: Auth0StandIn, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = configure(auth0)
    assert main(["setup"]) == 0
    auth0.seed_users(2_500)
    assert main(["sync", "auth0"]) == 0
    out = capsys.readouterr().out
    assert "by export" in out and "2,500 published" in out, out
    first = users_published(settings)
    assert set(first) == set(auth0.users) and set(first.values()) == {1}  # each user once

    changed = auth0.mutate_users(7)
    assert main(["sync", "auth0"]) == 0
    out = capsys.readouterr().out
    assert "by search" in out and "7 published" in out, out
    second = users_published(settings)
    assert set(second) == set(changed) and set(second.values()) == {1}

    assert main(["sync", "auth0"]) == 0
    assert " 0 published" in capsys.readouterr().out
    assert users_published(settings) == {}
    assert len(auth0.requests_to("/api/v2/jobs/users-exports", "POST")) == 1


@pytest.mark.parametrize("method", ["search", "export"])
def test_an_interrupted_sync_resumes_from_its_checkpoint(
    auth0: Auth0StandIn, configure: Configure, method: str
) -> None:
    settings = configure(auth0)
    assert main(["setup"]) == 0
    auth0.seed_users(2_500)
    with pytest.raises(Interrupted):
        asyncio.run(sync_users(settings, method, on_page=interrupt_after(1_200)))  # type: ignore[arg-type]
    before = users_published(settings)
    assert 1_200 <= len(before) < 2_500
    asked_before = len(auth0.requests)

    report = asyncio.run(sync_users(settings, "auto"))
    assert report.resumed and report.method == method
    after = users_published(settings)
    assert not set(before) & set(after)  # nothing published twice
    assert set(before) | set(after) == set(auth0.users)
    assert report.published == len(after) == 2_500 - len(before)
    resumed = auth0.requests[asked_before:]
    if method == "search":  # it went on from where it stood, not from the beginning
        queries = [r.query["q"] for r in resumed if r.path == "/api/v2/users"]
        assert queries and not any(EPOCH in q for q in queries)
    else:  # the same export job, its file read past the lines already published
        assert len(auth0.requests_to("/api/v2/jobs/users-exports", "POST")) == 1


def test_rate_limits_and_an_expired_token_do_not_stop_a_sync(
    configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    with Auth0StandIn(bucket_size=4, refill_per_second=40) as auth0:
        settings = configure(auth0)
        assert main(["setup"]) == 0
        auth0.seed_users(600)
        limited = {
            "x-ratelimit-limit": "4",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(time.time()) + 1),
        }
        auth0.fail(429, times=1, headers=limited, body={"statusCode": 429, "error": "Too Many "
                   "Requests", "message": "Global limit has been reached"},
                   path_prefix="/api/v2/users")  # fmt: skip

        def expire_once(report: SyncReport) -> None:
            if report.taken == 100:
                auth0.expire_tokens()

        report = asyncio.run(sync_users(settings, "search", on_page=expire_once))
        assert report.published == 600 and report.rate_limited >= 1
        assert auth0.token_requests == 2
        assert set(users_published(settings).values()) == {1}


def test_rejected_credentials_and_missing_settings_exit_2_with_a_reason(
    auth0: Auth0StandIn, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(auth0, auth0_client_secret="not-the-secret-99")
    assert main(["setup"]) == 0
    assert main(["sync", "auth0"]) == 2
    err = capsys.readouterr().err
    assert "AUTHSTREAM_AUTH0_CLIENT_ID" in err and "not-the-secret-99" not in err
    configure(auth0, auth0_domain="")
    assert main(["sync", "auth0", "--logs"]) == 2
    assert "AUTHSTREAM_AUTH0_DOMAIN not set" in capsys.readouterr().err


def test_one_sync_at_a_time(
    auth0: Auth0StandIn, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = configure(auth0)
    assert main(["setup"]) == 0
    auth0.seed_users(5)

    async def another_sync_holds_the_lease(settings: Settings) -> None:
        async with elastic.connect(settings) as es:
            state = StateStore(es, Names(settings.name_prefix))
            assert await state.lease(LEASE_KEY, "elsewhere", LEASE_TTL, datetime.now(UTC))

    asyncio.run(another_sync_holds_the_lease(settings))
    assert main(["sync", "auth0"]) == 2
    assert "another `authstream sync auth0` is running" in capsys.readouterr().err
    assert users_published(settings) == {}
