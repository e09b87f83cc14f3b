"""The collector's event shape → envelopes: validation, ids, anonymous visitors; the rate bucket."""

import orjson
import pytest

from consumers.core.errors import InvalidEvent
from consumers.ingest.collector import Bucket, parse_events
from consumers.ingest.shop_events import envelope_from_shop
from consumers.pipeline.decode import decode_event

VISITOR = "8c1e7a52-3f0b-4d5e-9a61-2b7c4d8e9f10"
BROWSER = {"user_agent": "Mozilla/5.0 (iPhone)"}


def viewed(**overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        "type": "behavior.product_viewed",
        "anonymous_id": VISITOR,
        "occurred_at": "2026-11-29T10:15:00.123Z",
        "properties": {"category": "Running shoes", "product_id": "IS-2041"},
    }
    return event | overrides


def test_a_visitor_event_becomes_a_valid_envelope_filed_under_the_visitor() -> None:
    envelope = envelope_from_shop(viewed(), "shop-web", "innovashoes", BROWSER)
    event = decode_event(orjson.dumps(envelope), 1 << 20)
    assert event.type == "behavior.product_viewed" and event.source == "app"
    assert event.tenant == "innovashoes"
    assert event.user.user_id == f"anon:{VISITOR}"
    assert event.data == {
        "category": "Running shoes",
        "product_id": "IS-2041",
        "app_source": "shop-web",
        "anonymous_id": VISITOR,
    }
    assert event.context.user_agent == "Mozilla/5.0 (iPhone)"


def test_event_ids_are_the_same_for_the_same_event_and_apart_per_source() -> None:
    first = envelope_from_shop(viewed(), "shop-web", None, BROWSER)["event_id"]
    again = envelope_from_shop(viewed(), "shop-web", None, {})["event_id"]
    other_source = envelope_from_shop(viewed(), "shop-app", None, BROWSER)["event_id"]
    later = envelope_from_shop(viewed(occurred_at="2026-11-29T10:16:00Z"), "shop-web", None, {})
    assert first == again  # a batch sent again counts once
    assert first != other_source and first != later["event_id"]
    given = envelope_from_shop(viewed(event_id="evt-1"), "shop-web", None, {})["event_id"]
    changed = viewed(event_id="evt-1", properties={"category": "Sandals"})
    assert envelope_from_shop(changed, "shop-web", None, {})["event_id"] == given


def test_identify_and_known_users() -> None:
    identify = {
        "type": "user.identified",
        "anonymous_id": VISITOR,
        "user_id": "auth0|5f1d",
        "occurred_at": "2026-11-29T10:20:00Z",
    }
    envelope = envelope_from_shop(identify, "shop-web", None, {})
    assert envelope["user"] == {"user_id": "auth0|5f1d"}
    assert envelope["data"]["anonymous_id"] == VISITOR
    known = envelope_from_shop(
        viewed(anonymous_id=None, user_id="auth0|5f1d"), "shop-web", None, {}
    )
    assert known["user"] == {"user_id": "auth0|5f1d"} and "anonymous_id" not in known["data"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ([], "an event must be a JSON object"),
        (viewed(type="page_view"), "type must be behavior.<action>"),
        (viewed(type="behavior.Cart Add"), "type must be behavior.<action>"),
        (viewed(type="auth.login"), "type must be behavior.<action>"),
        (viewed(anonymous_id=None), "user_id or anonymous_id is required"),
        (viewed(anonymous_id="short"), "anonymous_id must be 8 to 128"),
        (viewed(anonymous_id=None, user_id="anon:x"), "user_id may not start with 'anon:'"),
        (viewed(anonymous_id=None, user_id=""), "user_id must be a string"),
        (viewed(occurred_at=None), "occurred_at (RFC 3339) is required"),
        (viewed(properties={"product_id": "x"}), "properties.category (the product category)"),
        (viewed(properties={"category": ""}), "properties.category must be text"),
        (viewed(properties=[]), "properties must be an object"),
        (viewed(event_id="has space"), "event_id must be 1 to 128"),
        (viewed(context="x"), "context must be an object"),
        ({"type": "user.identified", "user_id": "auth0|1", "occurred_at": "x"}, "needs both"),
    ],
)
def test_bad_events_are_refused_with_a_reason(event: object, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason.replace("(", r"\(").replace(")", r"\)")):
        envelope_from_shop(event, "shop-web", None, {})


def test_bodies_array_object_lines_and_beacon() -> None:
    one = orjson.dumps(viewed())
    assert parse_events(b"[" + one + b"," + one + b"]") == ([viewed(), viewed()], None)
    assert parse_events(one) == ([viewed()], None)
    assert parse_events(one + b"\n\n" + one + b"\n") == ([viewed(), viewed()], None)
    beacon = orjson.dumps({"write_key": "k" * 20, "events": [viewed()]})
    assert parse_events(beacon) == ([viewed()], "k" * 20)
    with pytest.raises(InvalidEvent, match="neither JSON nor JSON lines"):
        parse_events(b'{"type": \n not json')


def test_the_bucket_grants_a_burst_then_the_rate() -> None:
    bucket = Bucket(rate=10.0, burst=20.0)
    now = bucket.at
    assert bucket.take(20, now) == 0.0
    assert bucket.take(5, now) == pytest.approx(0.5)  # 5 tokens at 10/s
    assert bucket.take(5, now + 0.5) == 0.0
    assert bucket.take(30, now + 100) == pytest.approx(1.0)  # never more than the burst
