"""The stand-ins themselves behave like the contracts they claim (and fail like them)."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.standins import (
    Auth0StandIn,
    FullContactStandIn,
    KibanaStandIn,
    WebhookReceiver,
    XStandIn,
)
from tests.standins.auth0_mgmt import AUDIENCE, CLIENT_ID, CLIENT_SECRET, PAGING_MESSAGE
from tests.standins.elasticsearch import SecuredElasticsearch
from tests.standins.fullcontact import ENRICH_PATH
from tests.standins.x_api import SEARCH_PATH

FC_KEY = "fc-key"
X_TOKEN = "x-token"


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as client:
        yield client


# -- the shared base ------------------------------------------------------------------------------
def test_requests_are_recorded_and_awaited(webhook: WebhookReceiver) -> None:
    sender = threading.Thread(
        target=lambda: httpx.post(f"{webhook.base_url}/hooks/a?x=1", json={"n": 1}, timeout=2)
    )
    sender.start()
    [delivery] = webhook.wait_for_deliveries(1)
    sender.join()
    assert (delivery.method, delivery.path, delivery.query) == ("POST", "/hooks/a", {"x": "1"})
    assert delivery.json == {"n": 1} and delivery.headers["content-type"] == "application/json"
    with pytest.raises(AssertionError, match="expected 2 requests"):
        webhook.wait_for_requests(2, timeout=0.05)
    with httpx.Client(timeout=2) as http:  # a streamed (chunked) body, then keep-alive reuse
        http.post(webhook.base_url, content=iter([b"ab", b"cd"]))
        http.post(webhook.base_url, content=b"ef")
    assert [d.body for d in webhook.deliveries[1:]] == [b"abcd", b"ef"]


def test_fail_answers_the_next_k_then_recovers(
    webhook: WebhookReceiver, http: httpx.Client
) -> None:
    webhook.fail(500, times=2, body={"error": "boom"}, headers={"Retry-After": "0"})
    codes = [http.post(webhook.base_url, content=b"x").status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert [d.fault for d in webhook.deliveries] == ["fail", "fail", None]
    webhook.fail(503, times=None, path_prefix="/down")
    assert [http.post(f"{webhook.base_url}/down").status_code for _ in range(3)] == [503] * 3
    assert http.post(f"{webhook.base_url}/up").status_code == 200
    webhook.clear_faults()
    assert http.post(f"{webhook.base_url}/down").status_code == 200


def test_slow_outlasts_the_client_timeout(webhook: WebhookReceiver) -> None:
    webhook.slow(10.0)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(webhook.base_url, content=b"x", timeout=0.2)
    assert time.monotonic() - started < 2
    assert httpx.post(webhook.base_url, content=b"x", timeout=2).status_code == 200


def test_reset_cuts_the_connection_mid_request(
    webhook: WebhookReceiver, http: httpx.Client
) -> None:
    webhook.reset()
    with pytest.raises(httpx.TransportError):
        http.post(webhook.base_url, content=b"x")
    assert http.post(webhook.base_url, content=b"x").status_code == 200
    assert len(webhook.deliveries) == 2


def test_refuse_then_restore_on_the_same_port(webhook: WebhookReceiver, http: httpx.Client) -> None:
    url = webhook.base_url
    assert http.post(url).status_code == 200
    webhook.refuse()
    with pytest.raises(httpx.ConnectError):
        http.post(url)
    webhook.restore()
    assert webhook.base_url == url and http.post(url).status_code == 200


def test_webhook_signature_is_checked_over_the_raw_body(
    webhook: WebhookReceiver, http: httpx.Client
) -> None:
    body = b'{"event":"segment.entered","user_id":"auth0|1"}'
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    http.post(webhook.base_url, content=body, headers={"X-Signature": good})
    http.post(webhook.base_url, content=body + b" ", headers={"X-Signature": good})
    first, tampered = webhook.deliveries
    assert webhook.signature_ok(first, "s3cret") and not webhook.signature_ok(tampered, "s3cret")
    assert not webhook.signature_ok(first, "other")


# -- FullContact ----------------------------------------------------------------------------------
@pytest.fixture
def fullcontact() -> Iterator[FullContactStandIn]:
    with FullContactStandIn(FC_KEY) as standin:
        standin.add_person(
            "Ana@Example.com",
            "Ana Silva",
            gender="Female",
            birthday=datetime(1990, 5, 17).date(),
            twitter="anaruns",
            interests=["Running", "Fitness"],
            phones=["+15550100"],
        )
        yield standin


def _enrich(standin: FullContactStandIn, body: object, key: str = FC_KEY) -> httpx.Response:
    return httpx.post(
        standin.base_url + ENRICH_PATH,
        json=body,
        timeout=2,
        headers={"Authorization": f"Bearer {key}"},
    )


def test_fullcontact_enriches_in_the_v3_shape(fullcontact: FullContactStandIn) -> None:
    answer = _enrich(fullcontact, {"email": "ana@example.com"})
    person = answer.json()
    assert answer.status_code == 200 and person["fullName"] == "Ana Silva"
    assert person["ageRange"] == person["details"]["age"]["range"]
    assert person["details"]["age"]["birthday"] == {"year": 1990, "month": 5, "day": 17}
    assert person["details"]["profiles"]["twitter"]["username"] == "anaruns"
    assert person["twitter"] == "https://twitter.com/anaruns"
    assert person["details"]["locations"][0]["countryCode"] == "US"
    assert [i["name"] for i in person["details"]["interests"]] == ["Running", "Fitness"]
    assert {"x-rate-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(answer.headers)
    assert _enrich(fullcontact, {"phone": "+15550100"}).json()["fullName"] == "Ana Silva"
    assert fullcontact.calls_for("ANA@example.com") == 1 and fullcontact.matches["+15550100"] == 1


def test_fullcontact_errors(fullcontact: FullContactStandIn) -> None:
    missing = _enrich(fullcontact, {"email": "nobody@example.com"})
    assert (missing.status_code, missing.json()) == (
        404,
        {"status": 404, "message": "Profile not found"},
    )
    assert _enrich(fullcontact, {"email": "ana@example.com"}, key="wrong").status_code == 401
    assert _enrich(fullcontact, {"name": "Ana"}).status_code == 422
    raw = httpx.post(
        fullcontact.base_url + ENRICH_PATH,
        content=b"not json",
        timeout=2,
        headers={"Authorization": f"Bearer {FC_KEY}"},
    )
    assert (raw.status_code, raw.json()["code"]) == (400, 400)
    fullcontact.bad_key_status = 403
    assert "missing or invalid" in _enrich(fullcontact, {"email": "a@b.c"}, "x").json()["message"]
    fullcontact.unavailable()
    gone = _enrich(fullcontact, {"email": "ana@example.com"})
    assert gone.status_code == 503 and gone.headers["Retry-After"] == "1"


def test_fullcontact_rate_limits(fullcontact: FullContactStandIn) -> None:
    fullcontact.throttle(retry_after=3)
    limited = _enrich(fullcontact, {"email": "ana@example.com"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert limited.headers["X-Rate-Limit-Remaining"] == "0"
    with FullContactStandIn(FC_KEY, rate_limit_per_second=2) as strict:
        codes = [_enrich(strict, {"email": "a@example.com"}).status_code for _ in range(3)]
        assert codes == [404, 404, 429]
        assert strict.max_requests_within(1.0) == 3


def test_fullcontact_tracks_concurrent_calls_per_email(fullcontact: FullContactStandIn) -> None:
    fullcontact.slow(0.3, times=2)
    calls = [
        threading.Thread(target=_enrich, args=(fullcontact, {"email": "ana@example.com"}))
        for _ in range(2)
    ]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    _enrich(fullcontact, {"email": "other@example.com"})
    assert fullcontact.max_in_flight_for("ana@example.com") == 2
    assert fullcontact.max_in_flight_for("other@example.com") == 1
    assert fullcontact.max_in_flight == 2 and fullcontact.calls_for("ana@example.com") == 2


# -- X API ----------------------------------------------------------------------------------------
@pytest.fixture
def x_api() -> Iterator[XStandIn]:
    with XStandIn(X_TOKEN) as standin:
        yield standin


def _search(standin: XStandIn, **params: str) -> httpx.Response:
    return httpx.get(
        standin.base_url + SEARCH_PATH,
        params=params,
        timeout=2,
        headers={"Authorization": f"Bearer {X_TOKEN}"},
    )


def test_x_query_language(x_api: XStandIn) -> None:
    love = x_api.add_post("I love my new @InnovaShoes running shoe!", "alice")
    hate = x_api.add_post("Hate the @innovashoes boots, they hurt", "bob", lang="en")
    x_api.add_post("RT @alice: I love my new @InnovaShoes running shoe!", "carol")
    german = x_api.add_post("Die @InnovaShoes Schuhe sind toll", "dora", lang="de")
    x_api.add_post("running late again", "erin")

    def ids(query: str) -> set[str]:
        return {p.id for p in x_api.search(query)}

    assert ids("from:ALICE") == {love.id}
    assert ids("@innovashoes -is:retweet lang:en") == {love.id, hate.id}
    assert ids('"running shoe" -is:retweet') == {love.id}
    assert ids("(love OR hate) @innovashoes -is:retweet") == {love.id, hate.id}
    assert ids("toll OR boots") == {german.id, hate.id}
    assert ids("shoes") == set()  # a keyword is a whole token: no stemming, not in a mention
    answer = _search(x_api, query="@innovashoes lang:de")
    assert [p["id"] for p in answer.json()["data"]] == [german.id]
    for bad in ("love AND hate", "lang:en -is:retweet", "(love OR hate", "has:links love"):
        rejected = _search(x_api, query=bad)
        assert rejected.status_code == 400, bad
        assert rejected.json()["type"] == "https://api.twitter.com/2/problems/invalid-request"


def test_x_pages_newest_first_and_counts_reads(x_api: XStandIn) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    for i in range(25):
        x_api.add_post(
            f"post {i} about #innovashoes", f"user{i % 3}", created_at=start + timedelta(minutes=i)
        )
    seen: list[str] = []
    params = {
        "query": "#innovashoes",
        "max_results": "10",
        "expansions": "author_id",
        "tweet.fields": "created_at,author_id,lang",
    }
    sizes = []
    while True:
        page = _search(x_api, **params).json()
        sizes.append(page["meta"]["result_count"])
        seen += [p["id"] for p in page["data"]]
        assert page["meta"]["newest_id"] == page["data"][0]["id"]
        authors = {p["author_id"] for p in page["data"]}
        assert {u["id"] for u in page["includes"]["users"]} == authors
        assert page["data"][0]["created_at"].endswith(".000Z") and page["data"][0]["lang"] == "en"
        if "next_token" not in page["meta"]:
            break
        params["next_token"] = page["meta"]["next_token"]
    assert sizes == [10, 10, 5] and len(set(seen)) == 25
    assert seen == sorted(seen, key=int, reverse=True) and x_api.posts_read == 25
    assert _search(x_api, query="nothing-matches").json() == {"meta": {"result_count": 0}}
    assert _search(x_api, query="post", since_id=seen[1]).json()["meta"]["result_count"] == 1
    old = (datetime.now(UTC) - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _search(x_api, query="post", start_time=old).status_code == 400
    assert _search(x_api, query="post", max_results="5").status_code == 400


def test_x_auth_and_rate_limits() -> None:
    with XStandIn(X_TOKEN, requests_per_window=2, window_seconds=900) as x_api:
        denied = httpx.get(x_api.base_url + SEARCH_PATH, params={"query": "a"}, timeout=2)
        assert denied.status_code == 401 and denied.json()["detail"] == "Unauthorized"
        assert denied.headers["content-type"] == "application/problem+json"
        first, second, third = (_search(x_api, query="shoes") for _ in range(3))
        assert [r.status_code for r in (first, second, third)] == [200, 200, 429]
        assert [r.headers["x-rate-limit-remaining"] for r in (first, second)] == ["1", "0"]
        assert int(third.headers["x-rate-limit-reset"]) > time.time() + 800
        assert third.json()["status"] == 429
        x_api.unavailable()
        x_api.limiter.limit = 100
        assert _search(x_api, query="a").status_code == 503


# -- Auth0 ----------------------------------------------------------------------------------------
@pytest.fixture
def auth0() -> Iterator[Auth0StandIn]:
    with Auth0StandIn() as standin:
        yield standin


def _token(standin: Auth0StandIn, **overrides: str) -> httpx.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "audience": AUDIENCE,
        **overrides,
    }
    return httpx.post(standin.base_url + "/oauth/token", json=body, timeout=2)


def _api(standin: Auth0StandIn) -> httpx.Client:
    token = _token(standin).json()["access_token"]
    return httpx.Client(
        base_url=standin.base_url + "/api/v2",
        timeout=2,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_auth0_tokens_and_expiry(auth0: Auth0StandIn) -> None:
    assert _token(auth0, client_secret="nope").json() == {
        "error": "access_denied",
        "error_description": "Unauthorized",
    }
    assert _token(auth0, audience="https://other/").status_code == 403
    granted = _token(auth0).json()
    assert granted["token_type"] == "Bearer" and granted["expires_in"] == 86400
    assert (
        httpx.get(auth0.base_url + "/api/v2/users", timeout=2).json()["message"]
        == "Missing authentication"
    )
    with _api(auth0) as api:
        assert api.get("/users").status_code == 200
        auth0.expire_tokens()
        expired = api.get("/users")
    assert expired.status_code == 401 and expired.json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Expired token received for JSON Web Token validation",
        "attributes": {"error": "Expired token received for JSON Web Token validation"},
    }
    assert auth0.token_requests == 4


def test_auth0_user_search_pages_and_caps_at_1000(auth0: Auth0StandIn) -> None:
    users = auth0.seed_users(250, start=datetime(2024, 1, 1, tzinfo=UTC))
    assert {u["user_id"].split("|")[0] for u in users} == {"auth0", "google-oauth2", "facebook"}
    assert any("birthday" in u for u in users)
    with _api(auth0) as api:
        pages = [
            api.get(
                "/users",
                params={
                    "q": "*",
                    "search_engine": "v3",
                    "per_page": 100,
                    "page": n,
                    "include_totals": "true",
                },
            ).json()
            for n in range(3)
        ]
        assert [(p["start"], p["length"], p["total"]) for p in pages] == [
            (0, 100, 250),
            (100, 100, 250),
            (200, 50, 250),
        ]
        assert len({u["user_id"] for p in pages for u in p["users"]}) == 250
        assert api.get("/users", params={"per_page": 100, "page": 9}).status_code == 200
        capped = api.get("/users", params={"per_page": 100, "page": 10})
        assert capped.status_code == 400 and capped.json()["message"] == PAGING_MESSAGE
        assert capped.json()["errorCode"] == "invalid_paging"
        assert api.get("/users", params={"per_page": 101}).status_code == 400
        assert "x-ratelimit-remaining" in capped.headers

        changed = auth0.mutate_users(5, at=datetime(2024, 6, 1, tzinfo=UTC))
        since = api.get(
            "/users",
            params={"q": "updated_at:{2024-06-01T00:00:00.000Z TO *]", "sort": "updated_at:1"},
        ).json()
        assert since == []  # exclusive lower bound
        since = api.get(
            "/users",
            params={
                "q": "updated_at:[2024-06-01T00:00:00.000Z TO *]",
                "sort": "updated_at:1",
                "fields": "user_id",
            },
        ).json()
        assert sorted(u["user_id"] for u in since) == sorted(changed)
        assert all(set(u) == {"user_id"} for u in since)
        one = api.get("/users/" + quote(users[0]["user_id"], safe=""))
        assert one.json()["email"] == users[0]["email"]
        assert api.get("/users/auth0%7Cnobody").json()["errorCode"] == "inexistent_user"
        assert api.get("/users", params={"q": "email:("}).status_code == 400


def test_auth0_users_export_job_serves_gzipped_ndjson(auth0: Auth0StandIn) -> None:
    auth0.seed_users(30)
    with _api(auth0) as api:
        job = api.post(
            "/jobs/users-exports",
            json={
                "format": "json",
                "fields": [
                    {"name": "user_id"},
                    {"name": "email"},
                    {"name": "identities[0].connection", "export_as": "connection"},
                ],
            },
        ).json()
        assert (job["type"], job["status"]) == ("users_export", "pending")
        assert job["id"].startswith("job_")
        first = api.get(f"/jobs/{job['id']}").json()
        assert first["status"] == "processing"
        assert httpx.get(f"{auth0.base_url}/exports/{job['id']}.json.gz").status_code == 404
        done = api.get(f"/jobs/{job['id']}").json()
        assert done["status"] == "completed"
        assert api.get("/jobs/job_0000000000000000").status_code == 404
    download = httpx.get(done["location"], timeout=2)
    rows = [json.loads(line) for line in gzip.decompress(download.content).splitlines()]
    assert len(rows) == 30 and set(rows[0]) == {"user_id", "email", "connection"}
    assert {r["user_id"] for r in rows} == set(auth0.users)


def test_auth0_logs_by_checkpoint_and_rate_limit() -> None:
    with Auth0StandIn(bucket_size=4, refill_per_second=0.01) as auth0:
        [user] = auth0.seed_users(1)
        logs = [auth0.add_log(t, user) for t in ("ss", "s", "s", "f", "slo")]
        with _api(auth0) as api:
            after = api.get("/logs", params={"from": logs[1]["log_id"], "take": 2})
            assert [e["type"] for e in after.json()] == ["s", "f"]
            assert f"from={logs[3]['log_id']}" in after.headers["link"]
            assert after.json()[0]["user_id"] == user["user_id"]
            assert (
                api.get("/logs", params={"from": logs[0]["log_id"], "take": 101}).status_code == 400
            )
            searched = api.get("/logs", params={"q": "type:s", "include_totals": "true"}).json()
            assert searched["total"] == 2
            assert api.get("/logs").status_code == 200  # the bucket's 4th and last token
            limited = api.get("/logs")
        assert limited.status_code == 429
        assert limited.json()["message"] == "Global limit has been reached"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert int(limited.headers["x-ratelimit-reset"]) > time.time()


# -- Kibana ---------------------------------------------------------------------------------------
def _ndjson(*objects: Any) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


PATTERN = {"type": "index-pattern", "id": "users", "attributes": {"title": "authstream-users"}}
DASHBOARD = {
    "type": "dashboard",
    "id": "overview",
    "attributes": {"title": "Overview"},
    "references": [{"type": "index-pattern", "id": "users", "name": "p"}],
}
ORPHAN = {
    "type": "search",
    "id": "orphan",
    "attributes": {"title": "Orphan"},
    "references": [{"type": "index-pattern", "id": "gone", "name": "p"}],
}


def test_kibana_import_validates_like_kibana() -> None:
    with (
        KibanaStandIn(api_key="k") as kibana,
        httpx.Client(
            base_url=kibana.base_url, timeout=2, headers={"Authorization": "ApiKey k"}
        ) as api,
    ):

        def upload(data: bytes, name: str = "objects.ndjson", **params: str) -> httpx.Response:
            return api.post(
                "/api/saved_objects/_import",
                params=params,
                headers={"kbn-xsrf": "true"},
                files={"file": (name, data, "application/ndjson")},
            )

        summary = {"exportedCount": 3, "missingRefCount": 0, "missingReferences": []}
        answer = upload(_ndjson(PATTERN, DASHBOARD, ORPHAN, summary)).json()
        assert (answer["success"], answer["successCount"]) == (False, 2)
        assert answer["successResults"][1] == {
            "type": "dashboard",
            "id": "overview",
            "meta": {"title": "Overview"},
        }
        [error] = answer["errors"]
        assert error["error"] == {
            "type": "missing_references",
            "references": [{"type": "index-pattern", "id": "gone"}],
        }
        assert kibana.saved("search", "orphan") is None
        found = api.get("/api/saved_objects/_find", params={"type": "dashboard"}).json()
        assert [o["id"] for o in found["saved_objects"]] == ["overview"]

        again = upload(_ndjson(DASHBOARD)).json()
        assert again["errors"][0]["error"] == {"type": "conflict"}
        assert (
            upload(_ndjson(DASHBOARD), overwrite="true").json()["successResults"][0]["overwrite"]
            is True
        )
        copy = upload(_ndjson(PATTERN, DASHBOARD), createNewCopies="true").json()
        assert all(r["destinationId"] != r["id"] for r in copy["successResults"])

        no_xsrf = api.post(
            "/api/saved_objects/_import", files={"file": ("o.ndjson", _ndjson(PATTERN))}
        )
        assert no_xsrf.json()["message"] == "Request must contain a kbn-xsrf header."
        assert (
            upload(_ndjson(PATTERN), "o.json").json()["message"] == "Invalid file extension .json"
        )
        assert upload(_ndjson(PATTERN, PATTERN)).status_code == 400
        assert upload(_ndjson(PATTERN), overwrite="true", createNewCopies="true").status_code == 400
        assert upload(b"{not json\n").status_code == 400
        unauthenticated = httpx.get(kibana.base_url + "/api/saved_objects/_find?type=dashboard")
        assert unauthenticated.status_code == 401


def test_secured_elasticsearch_challenges_accepts_and_forbids(http: httpx.Client) -> None:
    with SecuredElasticsearch(api_key="a2V5", username="u", password="p") as node:
        anonymous = http.get(node.base_url + "/_cluster/health")
        assert anonymous.status_code == 401
        assert anonymous.headers["X-Elastic-Product"] == "Elasticsearch"
        assert "ApiKey" in anonymous.headers["WWW-Authenticate"]
        assert anonymous.json()["error"]["type"] == "security_exception"
        keyed = http.get(
            node.base_url + "/_cluster/health", headers={"Authorization": "ApiKey a2V5"}
        )
        assert keyed.status_code == 200 and keyed.json()["status"] == "green"
        assert http.get(node.base_url + "/_cluster/health", auth=("u", "p")).status_code == 200
        assert http.get(node.base_url + "/_cluster/health", auth=("u", "x")).status_code == 401
        node.forbid()
        refused = http.get(node.base_url + "/_cluster/health", auth=("u", "p"))
        assert refused.status_code == 403 and "is unauthorized" in refused.json()["error"]["reason"]
