"""Shared pieces of the sentiment stage's integration tests: settings that point at the X
stand-in, Twitter users, publishing, and reading profiles and segment members."""

import json
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.segments.definitions import load_segments
from tests import search
from tests.helpers import dumps, envelope

X_TOKEN = "test-x-bearer"
BRAND = "InnovaShoes"
SEGMENT = "negative-twitter-sentiment"


def sentiment_settings(
    monkeypatch: pytest.MonkeyPatch, x_base_url: str | None, **extra: str
) -> Settings:
    """The test's settings plus the sentiment stage's, in the environment too (for the CLI)."""
    env = {
        "AUTHSTREAM_BRAND_HANDLE": BRAND,
        "AUTHSTREAM_X_RPS": "100",
        "AUTHSTREAM_SENTIMENT_SWEEP_MINUTES": "0",
        **extra,
    }
    if x_base_url is not None:
        env |= {"AUTHSTREAM_X_BEARER_TOKEN": X_TOKEN, "AUTHSTREAM_X_API_BASE_URL": x_base_url}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def twitter_user(handle: str, twitter_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "user_id": f"twitter|{twitter_id}",
        "name": handle.title(),
        "nickname": handle,
        "screen_name": handle,
        "created_at": "2026-11-01T09:00:00Z",
        "identities": [
            {
                "provider": "twitter",
                "user_id": twitter_id,
                "connection": "twitter",
                "isSocial": True,
            }
        ],
        **extra,
    }


def signup(user: dict[str, Any], kind: str = "auth.signup") -> dict[str, Any]:
    return envelope(
        event_id=str(uuid.uuid4()),
        type=kind,
        occurred_at=datetime.now(UTC).isoformat(),
        user=user,
        context={"connection": "twitter"},
    )


def publish(events: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / f"events{random.randrange(10**9)}.jsonl"
    path.write_bytes(b"\n".join(dumps(e) for e in events))
    assert main(["publish", str(path)]) == 0


def import_file(mentions: list[dict[str, Any]], tmp_path: Path) -> int:
    path = tmp_path / f"mentions{random.randrange(10**9)}.jsonl"
    path.write_text("\n".join(json.dumps(m) for m in mentions) + "\n", "utf-8")
    return main(["mentions", "import", str(path)])


def sentiment_of(settings: Settings, user_id: str) -> dict[str, Any] | None:
    profile = search.profile(settings, user_id) or {}
    block = profile.get("sentiment")
    return dict(block) if isinstance(block, dict) else None


def members(settings: Settings, segment: str = SEGMENT) -> set[str]:
    query = load_segments()[segment].render()
    with search.client(settings) as es:
        names = Names(settings.name_prefix)
        es.indices.refresh(index=names.users_alias)
        found = es.search(index=names.users_alias, query=query, size=100, source=["user_id"])
        return {hit["_source"]["user_id"] for hit in found["hits"]["hits"]}


def stored_mentions(settings: Settings) -> dict[str, dict[str, Any]]:
    with search.client(settings) as es:
        index = Names(settings.name_prefix).mentions_index
        es.options(ignore_status=404).indices.refresh(index=index)
        found = es.options(ignore_status=404).search(index=index, size=1000)
        return {hit["_id"]: hit["_source"] for hit in found.get("hits", {}).get("hits", [])}
