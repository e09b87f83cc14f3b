"""A small tenant indexed once by the real pipeline, shared by the people tests (read-only)."""

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.cli.main import main
from consumers.cli.setup import remove_everything
from consumers.core.settings import Settings
from tests import search
from tests.conftest import ISSUED, ServiceUrls
from tests.helpers import dumps, envelope, eventually
from tests.workers import running

NOW = datetime.now(UTC).replace(microsecond=0)


def at(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


def _user(user_id: str, name: str, email: str, **extra: Any) -> dict[str, Any]:
    provider = user_id.split("|")[0]
    return {
        "user_id": user_id,
        "name": name,
        "email": email,
        "created_at": at(40),
        "identities": [{"provider": provider, "user_id": user_id.split("|")[1]}],
        **extra,
    }


def _event(kind: str, days_ago: int, user: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return envelope(type=kind, occurred_at=at(days_ago), user=user, **extra)


CHLOE = _user(
    "facebook|1",
    "Chloé Dubois",
    "Chloe.Dubois@Example.com",
    gender="female",
    birthday="08/31/1990",
    likes=[{"name": "CrossFit", "category": "Fitness"}, {"name": "Runner's World"}],
    app_metadata={"marketing_consent": False},
)
PARIS = {
    "ip": "198.51.100.7",
    "connection": "facebook",
    "geo": {"country_code": "FR", "city": "Paris"},
}
BJORN = _user(
    "auth0|3", "Björn Müller", "bjorn@example.org", user_metadata={"interests": ["cycling"]}
)
TENANT: list[dict[str, Any]] = [
    _event("auth.signup", 40, CHLOE, context=PARIS),
    _event("auth.login", 3, CHLOE, context=PARIS),
    _event(
        "auth.signup",
        30,
        _user("google-oauth2|2", "Chloe Martin", "cmartin@example.net", nickname="coco"),
    ),
    _event("auth.signup", 20, BJORN, context={"geo": {"country_code": "DE", "city": "Berlin"}}),
    _event(
        "profile.enriched",
        19,
        {"user_id": "auth0|3"},
        source="authstream",
        data={
            "provider": "fullcontact",
            "status": "enriched",
            "response": {
                "ageRange": "25-34",
                "details": {
                    "employment": [{"name": "Acme Shoes", "title": "CTO", "current": True}],
                    "interests": [{"name": "Trail running"}],
                },
            },
        },
    ),
    _event(
        "auth.signup",
        10,
        _user(
            "twitter|4",
            "Zoë O'Brien",
            "zoe@example.com",
            screen_name="zoe_ob",
            identities=[{"provider": "twitter", "profileData": {"screen_name": "zoe_ob"}}],
        ),
    ),
    _event(
        "auth.signup",
        5,
        _user("facebook|5", "Hiro Tanaka", "hiro@example.jp", likes=[{"name": "Strava"}]),
    ),
]


@pytest.fixture(scope="module")
def tenant(services: ServiceUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of an installation holding ``TENANT``, indexed by the real index stage."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "AUTHSTREAM_AMQP_URL": services.amqp_url,
            "AUTHSTREAM_ELASTICSEARCH_URL": services.elasticsearch_url,
            "AUTHSTREAM_NAME_PREFIX": f"t{uuid.uuid4().hex[:10]}-",
            "AUTHSTREAM_LOG_FORMAT": "json",
        }.items():
            patch.setenv(key, value)
        settings = Settings()
        ISSUED.append(settings)  # checked for leftovers at the end of the session
        try:
            assert main(["setup"]) == 0
            path = tmp_path_factory.mktemp("tenant") / "events.jsonl"
            path.write_bytes(b"\n".join(dumps(e) for e in TENANT))
            assert main(["publish", str(path)]) == 0
            with running(settings):
                eventually(
                    lambda: search.count_events(settings) == len(TENANT), message="all indexed"
                )
                eventually(
                    lambda: (search.profile(settings, "auth0|3") or {}).get("employment"),
                    message="the enrichment folded",
                )
            search.refresh_users(settings)
            yield settings
        finally:
            asyncio.run(remove_everything(settings))
