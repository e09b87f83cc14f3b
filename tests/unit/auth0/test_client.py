"""The Management API client against the Auth0 stand-in, over real HTTP."""

import asyncio
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from consumers.auth0 import (
    Auth0Config,
    auth0_config,
    base_url_of,
    default_tenant,
    missing_configuration,
)
from consumers.auth0.client import ManagementClient
from consumers.core.errors import ConfigurationError, ThirdPartyAuthRejected
from consumers.core.settings import Settings
from tests.standins.auth0_mgmt import AUDIENCE, CLIENT_ID, CLIENT_SECRET, Auth0StandIn


def config(standin: Auth0StandIn, secret: str = CLIENT_SECRET) -> Auth0Config:
    return Auth0Config(standin.base_url, AUDIENCE, CLIENT_ID, SecretStr(secret), "authstream-test")


@pytest.fixture
def auth0() -> Iterator[Auth0StandIn]:
    with Auth0StandIn() as standin:
        standin.seed_users(3, start=datetime(2024, 1, 1, tzinfo=UTC))
        yield standin


def run(standin: Auth0StandIn, scenario, secret: str = CLIENT_SECRET, rps: float = 200.0):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        client = ManagementClient(config(standin, secret), timeout_s=5, rps=rps)
        try:
            return await scenario(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_a_bare_domain_means_https_and_a_url_is_used_as_given() -> None:
    assert base_url_of("InnovaShoes.eu.auth0.com") == "https://innovashoes.eu.auth0.com"
    assert base_url_of("http://127.0.0.1:8089/") == "http://127.0.0.1:8089"
    with pytest.raises(ConfigurationError, match="AUTHSTREAM_AUTH0_DOMAIN"):
        base_url_of("not a domain")
    settings = Settings(
        auth0_domain="innovashoes.eu.auth0.com", auth0_client_id="id", auth0_client_secret="s3"
    )
    found = auth0_config(settings)
    assert (found.audience, found.tenant) == (
        "https://innovashoes.eu.auth0.com/api/v2/",
        "innovashoes",
    )
    assert default_tenant(Settings(auth0_domain="login.shop.example")) is None
    assert default_tenant(Settings(auth0_tenant="shop")) == "shop"
    with pytest.raises(ConfigurationError, match="AUTHSTREAM_AUTH0_CLIENT_ID"):
        auth0_config(Settings(auth0_domain="innovashoes.eu.auth0.com"))
    empty = Settings(auth0_domain="", auth0_client_id="", auth0_client_secret="")  # compose
    names = ("DOMAIN", "CLIENT_ID", "CLIENT_SECRET")
    expected = ", ".join(f"AUTHSTREAM_AUTH0_{n}" for n in names) + " not set"
    assert missing_configuration(empty) == expected


def test_the_token_is_cached_and_renewed_once_when_auth0_says_it_expired(
    auth0: Auth0StandIn,
) -> None:
    user_id = next(iter(auth0.users))

    async def scenario(client: ManagementClient) -> list[object]:
        first = await client.get_user(user_id)
        again = await client.get_user(user_id)
        auth0.expire_tokens()
        after_expiry = await client.get_user(user_id)
        missing = await client.get_user("auth0|nobody")
        return [first, again, after_expiry, missing]

    first, again, after_expiry, missing = run(auth0, scenario)
    assert first == again == after_expiry == auth0.users[user_id]
    assert missing is None
    assert auth0.token_requests == 2  # one at the start, one after the expiry
    expired = [r for r in auth0.requests_to("/api/v2/users/") if r.fault is None]
    assert len(expired) == 5  # the call that met the expired token was made again


def test_rejected_credentials_say_what_to_check_without_the_secret(auth0: Auth0StandIn) -> None:
    async def scenario(client: ManagementClient) -> None:
        await client.get_user("auth0|x")

    with pytest.raises(ThirdPartyAuthRejected) as rejected:
        run(auth0, scenario, secret="wrong-secret-4711")
    assert "AUTHSTREAM_AUTH0_CLIENT_ID" in str(rejected.value)
    assert "wrong-secret-4711" not in str(rejected.value)


def test_a_missing_scope_is_reported_with_auth0s_words(auth0: Auth0StandIn) -> None:
    auth0.fail(
        403,
        body={
            "statusCode": 403,
            "error": "Forbidden",
            "message": "Insufficient scope, expected any of: read:logs,read:logs_users",
            "errorCode": "insufficient_scope",
        },
        path_prefix="/api/v2/logs",
    )

    async def scenario(client: ManagementClient) -> None:
        await client.logs_after("900", 100)

    with pytest.raises(ThirdPartyAuthRejected, match="expected any of: read:logs"):
        run(auth0, scenario)


def test_a_429_waits_for_the_reset_auth0_announces_and_asks_again(auth0: Auth0StandIn) -> None:
    reset = int(time.time()) + 2
    limited = {
        "x-ratelimit-limit": "50",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(reset),
    }
    body = {"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been "
            "reached", "errorCode": "too_many_requests"}  # fmt: skip
    auth0.fail(429, times=2, headers=limited, body=body, path_prefix="/api/v2/users")
    user_id = next(iter(auth0.users))

    async def scenario(client: ManagementClient) -> tuple[object, int]:
        return await client.get_user(user_id), client.stats.rate_limited

    user, rate_limited = run(auth0, scenario)
    assert user == auth0.users[user_id] and rate_limited == 2
    answered = auth0.requests_to("/api/v2/users/")
    assert len(answered) == 3
    assert answered[-1].received_at - answered[0].received_at >= reset - time.time() - 2.05


def test_an_empty_bucket_holds_every_call_until_its_reset() -> None:
    with Auth0StandIn(bucket_size=3, refill_per_second=4.0) as auth0:
        auth0.seed_users(1)
        user_id = next(iter(auth0.users))

        async def scenario(client: ManagementClient) -> tuple[list[object], int]:
            found = [await client.get_user(user_id) for _ in range(9)]
            return found, client.stats.rate_limited

        started = time.monotonic()
        found, rate_limited = run(auth0, scenario)
        assert all(user == auth0.users[user_id] for user in found)
        # The client read x-ratelimit-remaining: 0 and waited for the reset instead of meeting
        # 429s (the bucket of 3 would have refused 6 of 9 calls in a burst).
        assert rate_limited == 0
        assert time.monotonic() - started > 1.0


def test_outages_get_two_quick_retries(auth0: Auth0StandIn) -> None:
    auth0.fail(503, times=2, path_prefix="/api/v2/users/")
    user_id = next(iter(auth0.users))

    async def scenario(client: ManagementClient) -> object:
        return await client.get_user(user_id)

    assert run(auth0, scenario) == auth0.users[user_id]
    assert len(auth0.requests_to("/api/v2/users/")) == 3


def test_logs_follow_the_next_link_and_the_export_file_gets_no_credentials(
    auth0: Auth0StandIn,
) -> None:
    user = next(iter(auth0.users.values()))
    logs = [auth0.add_log(code, user) for code in ("ss", "s", "slo")]

    async def scenario(client: ManagementClient) -> tuple[object, ...]:
        page, following = await client.logs_after(logs[0]["log_id"], 1)
        rest, last = await client.logs_after(following, 100)
        job = await client.create_users_export(["user_id"])
        while job.get("status") != "completed":
            job = await client.get_job(job["id"]) or {}
        into = io.BytesIO()
        size = await client.download(job["location"], into)
        return page, following, rest, last, size

    page, following, rest, last, size = run(auth0, scenario)
    assert [e["type"] for e in page] == ["s"] and following == logs[1]["log_id"]
    assert [e["type"] for e in rest] == ["slo"] and last == logs[2]["log_id"]
    assert size > 0
    [download] = auth0.requests_to("/exports/")
    assert "authorization" not in download.headers
