"""The shop collector (POST /v1/events) over real HTTP into the real RabbitMQ."""

import httpx
import orjson

from consumers.bench.indexer import free_port
from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from tests import broker, search
from tests.collector import KEY_APP, KEY_WEB, ORIGIN, collector, send
from tests.helpers import envelope, eventually, publish_events
from tests.workers import running

VISITOR = "0f8e1c2a-6b7d-4e59-8a3c-1d2e3f4a5b6c"


def viewed(n: int, **extra: object) -> dict[str, object]:
    return {
        "type": "behavior.product_viewed",
        "anonymous_id": VISITOR,
        "occurred_at": f"2026-11-29T10:{n:02d}:00Z",
        "event_id": f"pv-{n}",
        "properties": {"category": "Trail running shoes", "product_id": f"IS-{n}"},
    } | extra


def index_queue(settings: Settings) -> str:
    return Names(settings.name_prefix).work_queue("index")


def test_browser_events_become_confirmed_envelopes(settings: Settings) -> None:
    assert main(["setup"]) == 0
    with collector(settings) as url:
        bad = viewed(3, properties={"product_id": "x"})
        answer = send(url, [viewed(1), viewed(2), bad], origin=ORIGIN)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "accepted": 2,
            "rejected_count": 1,
            "rejected": [
                {"event": 2, "reason": "properties.category (the product category) is required"}
            ],
        }
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        # 2xx came after the confirms: the events are in the index stage's queue already.
        taken = broker.drain(settings, index_queue(settings))
        lines = b"\n".join(orjson.dumps(e) for e in [viewed(4), viewed(5)])
        assert send(url, lines, key=KEY_APP).json()["accepted"] == 2
        # sendBeacon: no headers, the key in the body, a CORS-safelisted type (no preflight).
        beacon = orjson.dumps({"write_key": KEY_WEB, "events": [viewed(6)]})
        answer = send(url, beacon, key=None, origin=ORIGIN, content_type="text/plain")
        assert answer.status_code == 200 and answer.json()["accepted"] == 1
        taken += broker.drain(settings, index_queue(settings))
    events = {p.message_id: (m.routing_key, decode_event(b, 1 << 20)) for m, p, b in taken}
    assert len(events) == 5
    for routing_key, event in events.values():
        assert routing_key == "behavior.product_viewed" and event.source == "app"
        assert event.user.user_id == f"anon:{VISITOR}" and event.tenant == "innovashoes"
        assert event.data["category"] == "Trail running shoes"
    sources = sorted(e.data["app_source"] for _, e in events.values())
    assert sources == ["shop-app", "shop-app", "shop-web", "shop-web", "shop-web"]


def test_refusals_publish_nothing(settings: Settings) -> None:
    assert main(["setup"]) == 0
    env = {
        "AUTHSTREAM_COLLECT_MAX_BYTES": "4096",
        "AUTHSTREAM_COLLECT_MAX_EVENTS": "10",
        "AUTHSTREAM_COLLECT_RATE": "0.5",
        "AUTHSTREAM_COLLECT_BURST": "12",
    }
    with collector(settings, **env) as url:
        assert send(url, [viewed(1)], key="wrong-key-0000000000").status_code == 401
        assert send(url, [viewed(1)], key=None).status_code == 401
        stranger = send(url, [viewed(1)], origin="https://evil.example")
        assert stranger.status_code == 403
        assert "Access-Control-Allow-Origin" not in stranger.headers
        preflight = httpx.options(
            f"{url}/v1/events",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        refused = httpx.options(f"{url}/v1/events", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in refused.headers
        oversized = send(url, [viewed(n, padding="x" * 500) for n in range(10)], origin=ORIGIN)
        assert oversized.status_code == 413
        assert oversized.headers["Access-Control-Allow-Origin"] == ORIGIN  # the page can read why
        assert send(url, [viewed(n) for n in range(11)]).status_code == 413
        assert send(url, b"not json").status_code == 400
        assert send(url, [viewed(1, type="pageview")]).status_code == 400
        assert send(url, [viewed(n) for n in range(10)]).status_code == 200  # 10 of 12 tokens
        over = send(url, [viewed(n) for n in range(10, 15)])
        assert over.status_code == 429
        assert int(over.headers["Retry-After"]) >= 6  # 3 tokens missing at 0.5/s
        assert httpx.post(f"{url}/auth0/logs", content=b"[]").status_code == 404  # no token
        metrics_port_off = httpx.get(f"{url}/healthz").json()
        assert metrics_port_off == {"status": "ok"}
    assert broker.message_count(settings, index_queue(settings)) == 10


def test_a_browser_key_that_may_only_speak_for_visitors(settings: Settings) -> None:
    assert main(["setup"]) == 0
    identify = {"type": "user.identified", "anonymous_id": VISITOR, "user_id": "auth0|victim",
                "occurred_at": "2026-11-29T10:21:00Z"}  # fmt: skip
    with collector(settings, AUTHSTREAM_COLLECT_ANONYMOUS_ONLY="shop-web") as url:
        answer = send(url, [viewed(1), identify, viewed(2, user_id="auth0|victim")])
        assert answer.status_code == 200
        assert answer.json()["accepted"] == 1
        reasons = {r["reason"] for r in answer.json()["rejected"]}
        assert reasons == {
            "shop-web may send events of anonymous visitors only (no user_id): visitors are "
            "identified by their login"
        }
        assert send(url, [identify], key=KEY_APP).json()["accepted"] == 1  # the server's key
    assert broker.message_count(settings, index_queue(settings)) == 2


def test_broker_unreachable_is_503_so_the_shop_sends_again(settings: Settings) -> None:
    amqp = f"amqp://guest:pw@127.0.0.1:{free_port()}/"
    with collector(settings, AUTHSTREAM_AMQP_URL=amqp) as url:
        assert send(url, [viewed(1)]).status_code == 503


def test_browser_events_before_and_after_a_login_count_once(settings: Settings, tmp_path) -> None:
    """The whole way: a browser's events over HTTP before the login, the login carrying the
    visitor's id (as the post-login Action sends it), more events after, a client that sends a
    batch again and a broker that delivers the login again: the user's counters and interests
    are right, once."""
    assert main(["setup"]) == 0
    user = "auth0|5f1d9e8c7b6a"
    before = [
        viewed(1),
        viewed(2, properties={"category": "Yoga mats"}),
        viewed(3, type="behavior.cart_item_added"),
    ]
    after = [
        viewed(20, properties={"category": "Running socks"}),
        {"type": "user.identified", "anonymous_id": VISITOR, "user_id": user,
         "occurred_at": "2026-11-29T10:21:00Z", "event_id": "identify-1"},
        {"type": "behavior.checkout_completed", "user_id": user, "event_id": "co-1",
         "occurred_at": "2026-11-29T10:30:00Z", "properties": {"category": "Running socks"}},
    ]  # fmt: skip
    login = envelope(
        type="auth.login",
        occurred_at="2026-11-29T10:15:00Z",
        user={"user_id": user, "email": "runner@example.com", "logins_count": 4},
        data={"anonymous_id": VISITOR},
    )
    with collector(settings) as url, running(settings):
        assert send(url, before, origin=ORIGIN).status_code == 200
        publish_events([login], tmp_path)
        assert send(url, after, origin=ORIGIN).json()["accepted"] == 3
        assert send(url, before, origin=ORIGIN).status_code == 200  # the client sent it again
        publish_events([login], tmp_path)  # the broker delivered the login again

        def settled() -> dict[str, object] | None:
            found = search.profile(settings, user) or {}
            done = broker.message_count(settings, index_queue(settings)) == 0
            return found if done and found.get("counters", {}).get("behaviors") == 5 else None

        profile = eventually(settled, timeout=30, message="the visitor's behaviour on the user")
    assert profile["counters"] == {"logins": 1, "behaviors": 5}
    counts = {b["action"]: b["count"] for b in profile["behaviors"]}  # type: ignore[index, union-attr]
    assert counts == {"product_viewed": 3, "cart_item_added": 1, "checkout_completed": 1}
    assert profile["interests"] == ["fitness", "outdoors", "running"]
    assert list(profile["visitors"]) == [VISITOR]  # type: ignore[call-overload]
    assert search.count_events(settings) == 7  # 6 shop events (one an identify) and the login


def test_ingest_refuses_a_collector_it_cannot_run(
    settings: Settings, capsys, monkeypatch
) -> None:  # fmt: skip
    monkeypatch.delenv("AUTHSTREAM_INGEST_TOKEN", raising=False)
    monkeypatch.setenv("AUTHSTREAM_COLLECT_KEYS", f"shop-web:{KEY_WEB}")
    monkeypatch.setenv("AUTHSTREAM_COLLECT_ANONYMOUS_ONLY", "shop-wbe")
    assert main(["ingest", "--port", str(free_port())]) == 2
    assert "AUTHSTREAM_COLLECT_ANONYMOUS_ONLY names no source of the keys: shop-wbe" in (
        capsys.readouterr().err
    )
    monkeypatch.setenv("AUTHSTREAM_COLLECT_ANONYMOUS_ONLY", "")
    monkeypatch.setenv("AUTHSTREAM_COLLECT_MAX_EVENTS", "3000")
    assert main(["ingest", "--port", str(free_port())]) == 2
    assert "AUTHSTREAM_COLLECT_BURST is below AUTHSTREAM_COLLECT_MAX_EVENTS" in (
        capsys.readouterr().err
    )
