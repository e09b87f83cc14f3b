"""Auth0 Management API v2 stand-in, with the token endpoint it needs.

Reproduced from Auth0's docs (Management API explorer, User Search v3 limits, Bulk User Exports,
Retrieve Log Events, rate-limit policy) and error bodies quoted in Auth0's SDK issue trackers:

* ``POST /oauth/token`` (JSON or form; client_credentials; secret in the body or HTTP Basic) ->
  ``{access_token, scope, expires_in, token_type}``; wrong client: 401 ``access_denied``
  "Unauthorized"; wrong audience: 403 "Service not enabled within domain: <audience>".
  ``expire_tokens()`` expires every issued token: the API then answers 401 "Expired token received
  for JSON Web Token validation"; an unknown token gets "Invalid token", none "Missing
  authentication".
* ``GET /api/v2/users``: ``q`` (Lucene subset: ``*``, ``field:value``/``"value"``/``prefix*``,
  ``field:[X TO Y]``/``{X TO *]`` ranges, AND), ``page``, ``per_page`` (<= 100, default 50),
  ``include_totals`` (-> ``{users, start, limit, length, total}``), ``sort=field:1|-1``,
  ``fields``/``include_fields``. Offset paging stops at 1,000: ``(page + 1) * per_page > 1000``
  answers 400 ``invalid_paging`` "You can only page through the first 1000 records. See ...",
  whatever the real total. ``GET /api/v2/users/{id}``: URL-encoded id, 404 ``inexistent_user``.
* ``POST /api/v2/jobs/users-exports`` -> 201 ``{type: "users_export", status: "pending", ...}``;
  ``GET /api/v2/jobs/{id}``: processing (``percentage_done``, ``time_left_seconds``), then after
  ``polls_until_complete`` polls completed with ``location``, a URL on this stand-in serving the
  gzipped NDJSON (or CSV) of the users as they were when the job was created.
* ``GET /api/v2/logs``: by checkpoint (``from`` log_id, ``take`` <= 100: the logs after it in
  log_id order, plus ``Link: <...>; rel="next"``) or by search (``q``, paging, ``sort``).
* ``x-ratelimit-limit``/``-remaining``/``-reset`` (epoch s) on every /api/v2 answer, from a token
  bucket (``bucket_size``, refilled at ``refill_per_second``); empty: 429 "Global limit has been
  reached", ``too_many_requests``.

Simplified: one tenant; scopes not checked; the token endpoint and downloads are not limited; no
connection filter on user search; export ``fields`` default to a small set. Not confirmed from
docs: the wording of the 400 validation errors and of job-not-found.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.standins.base import RecordedRequest, Reply, StandIn, json_reply

CLIENT_ID, CLIENT_SECRET = "test-client-id", "test-client-secret"
AUDIENCE = "https://authstream-test.eu.auth0.com/api/v2/"
CONNECTIONS = {
    "Username-Password-Authentication": "con_UsrPwdAuth0Test1",
    "google-oauth2": "con_GoogleOauth2Tst1",
    "facebook": "con_FacebookTestCon1",
}
PAGING_MESSAGE = (
    "You can only page through the first 1000 records. See https://auth0.com/docs/"
    "users/search/v3/view-search-results-by-page#limitation"
)
EXPIRED = "Expired token received for JSON Web Token validation"
_FIRST = ["Ana", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jonas"]
_LAST = ["Silva", "Martin", "Novak", "Okafor", "Rossi", "Schmidt", "Tanaka", "Weber"]


def ts(moment: datetime) -> str:
    """Auth0's timestamp format: ISO 8601, UTC, milliseconds, Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _sortable(value: Any) -> tuple[int, Any]:
    """Numbers, then timestamps, then text: how range bounds compare with field values."""
    text = str(value)
    try:
        return 0, float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return 2, text
    return 1, (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _values(obj: Any, path: str) -> list[Any]:
    """Values at ``identities.connection`` or ``identities[0].connection``: lists are looked
    through unless indexed."""
    found = [obj]
    for part in re.findall(r"[^.\[\]]+", path):
        found = [
            x
            for item in found
            for x in (
                item[int(part) : int(part) + 1]
                if isinstance(item, list) and part.isdigit()
                else [
                    y[part]
                    for y in (item if isinstance(item, list) else [item])
                    if isinstance(y, dict) and part in y
                ]
            )
        ]
    return found


def _flat(values: list[Any]) -> list[Any]:
    return [x for v in values for x in (v if isinstance(v, list) else [v])]


Pred = Callable[[dict[str, Any]], bool]


def _in_range(field: str, lo: str, hi: str, lo_in: bool, hi_in: bool) -> Pred:
    low, high = _sortable(lo), _sortable(hi)

    def test(item: dict[str, Any]) -> bool:
        return any(
            (lo == "*" or (_sortable(v) >= low if lo_in else _sortable(v) > low))
            and (hi == "*" or (_sortable(v) <= high if hi_in else _sortable(v) < high))
            for v in _flat(_values(item, field))
        )

    return test


def _equal(field: str, want: str) -> Pred:
    def test(item: dict[str, Any]) -> bool:
        return any(
            str(v).lower().startswith(want[:-1]) if want.endswith("*") else str(v).lower() == want
            for v in _flat(_values(item, field))
        )

    return test


def lucene(query: str) -> Pred:
    """A predicate for the Lucene subset above; raises ValueError for anything else."""
    tests: list[Pred] = []
    for clause in re.split(r"\s+AND\s+", query.strip()):
        ranged = re.fullmatch(
            r'([\w.]+):([\[{])"?([^"\s]+)"?\s+TO\s+"?([^"\s\]}]+)"?([\]}])', clause
        )
        equal = re.fullmatch(r'([\w.]+):(?:"([^"]*)"|([^\s"()\[\]{}:]+))', clause)
        if clause in ("", "*"):
            continue
        if ranged:
            field, lo_in, lo, hi, hi_in = ranged.groups()
            tests.append(_in_range(field, lo, hi, lo_in == "[", hi_in == "]"))
        elif equal:
            tests.append(_equal(equal.group(1), (equal.group(2) or equal.group(3)).lower()))
        else:
            raise ValueError(clause)
    return lambda item: all(test(item) for test in tests)


class Auth0StandIn(StandIn):
    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        audience: str = AUDIENCE,
        token_ttl: int = 86400,
        bucket_size: int = 50,
        refill_per_second: float = 50.0,
        polls_until_complete: int = 2,
        scope: str = "read:users read:logs create:users",
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret, self.audience = client_id, client_secret, audience
        self.token_ttl, self.scope = token_ttl, scope
        self.polls_until_complete = polls_until_complete
        self.bucket_size, self.refill_per_second = bucket_size, refill_per_second
        self._tokens, self._bucket_at = float(bucket_size), time.monotonic()
        self.issued: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self.token_requests = 0
        self.users: dict[str, dict[str, Any]] = {}
        self.logs: list[dict[str, Any]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.export_failure: str | None = None  # set: jobs end "failed" with this status_details
        self._lock = threading.Lock()

    # -- seeding ---------------------------------------------------------------------------
    def add_user(self, user: dict[str, Any]) -> dict[str, Any]:
        self.users[user["user_id"]] = user
        return user

    def seed_users(
        self,
        n: int,
        *,
        seed: int = 0,
        start: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """``n`` realistic users: database, Google and Facebook, created a minute apart from
        ``start`` (default: 30 days ago); Facebook users carry gender and birthday."""
        rng, start = random.Random(seed), start or datetime.now(UTC) - timedelta(days=30)
        made = []
        for i in range(len(self.users), len(self.users) + n):
            provider = rng.choices(["auth0", "google-oauth2", "facebook"], [6, 3, 2])[0]
            suffix = (
                f"{rng.getrandbits(96):024x}"
                if provider == "auth0"
                else str(rng.randrange(10**20, 10**21))
            )
            given, family = rng.choice(_FIRST), rng.choice(_LAST)
            created = start + timedelta(minutes=i)
            last_login = created + timedelta(hours=rng.randrange(0, 240))
            connection = "Username-Password-Authentication" if provider == "auth0" else provider
            user: dict[str, Any] = {
                "user_id": f"{provider}|{suffix}",
                "email": f"{given}.{family}{i}@example.com".lower(),
                "email_verified": provider != "auth0" or rng.random() < 0.7,
                "name": f"{given} {family}",
                "given_name": given,
                "family_name": family,
                "nickname": given.lower(),
                "picture": f"https://s.gravatar.com/avatar/{i:032x}",
                "identities": [
                    {
                        "provider": provider,
                        "user_id": suffix,
                        "connection": connection,
                        "isSocial": provider != "auth0",
                    }
                ],
                "created_at": ts(created),
                "updated_at": ts(last_login),
                "last_login": ts(last_login),
                "last_ip": f"203.0.113.{i % 250 + 1}",
                "logins_count": rng.randrange(1, 40),
                "user_metadata": {
                    "interests": rng.sample(
                        ["running", "fitness", "hiking", "fashion", "tennis"], 2
                    ),
                    "marketing_opt_in": rng.choice([True, False, "no"]),
                },
                "app_metadata": {"plan": rng.choice(["free", "plus"])},
            }
            if provider == "facebook":
                user["gender"] = rng.choice(["male", "female"])
                user["birthday"] = (
                    f"{rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}/"
                    f"{rng.randrange(1960, 2006)}"
                )
            made.append(self.add_user(user))
        return made

    def mutate_users(self, count: int, *, seed: int = 1, at: datetime | None = None) -> list[str]:
        """Change ``count`` users (a login and a metadata edit) at ``at`` (default now): a later
        sync with ``updated_at:{<last sync> TO *]`` sees exactly these."""
        rng, moment = random.Random(seed), ts(at or datetime.now(UTC))
        chosen = rng.sample(sorted(self.users), count)
        for user_id in chosen:
            user = self.users[user_id]
            user["logins_count"] += 1
            user["last_login"] = user["updated_at"] = moment
            user["user_metadata"] = {**user["user_metadata"], "shoe_size": rng.randrange(38, 47)}
        return chosen

    def add_log(
        self,
        type_: str,
        user: dict[str, Any] | None = None,
        *,
        date: datetime | None = None,
        description: str = "",
        **extra: Any,
    ) -> dict[str, Any]:
        """Append a tenant log event (``s`` login, ``ss`` signup, ``f`` failed login, ...);
        log_ids grow with insertion, as Auth0's checkpoint order does."""
        user = user or {}
        identity = (user.get("identities") or [{}])[0]
        connection, provider = identity.get("connection"), identity.get("provider")
        entry = {
            "log_id": f"900{len(self.logs) + 1:053d}",
            "date": ts(date or datetime.now(UTC)),
            "type": type_,
            "description": description,
            "connection": connection,
            "connection_id": CONNECTIONS.get(connection or ""),
            "client_id": self.client_id,
            "client_name": "InnovaShoes Web",
            "ip": "203.0.113.7",
            "user_agent": "Chrome 120.0.0 / Mac OS X 10.15.7",
            "details": {},
            "hostname": "authstream-test.eu.auth0.com",
            "user_id": user.get("user_id"),
            "user_name": user.get("email"),
            "strategy": provider,
            "strategy_type": "database" if provider == "auth0" else "social",
            "isMobile": False,
            **extra,
        }
        self.logs.append(entry)
        return entry

    def expire_tokens(self) -> None:
        self.issued = dict.fromkeys(self.issued, 0.0)

    # -- plumbing ----------------------------------------------------------------------------
    @staticmethod
    def _error(
        status: int,
        error: str,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **more: Any,
    ) -> Reply:
        body = {"statusCode": status, "error": error, "message": message, **more}
        return json_reply(status, {**body, "errorCode": code} if code else body, headers)

    def _take(self) -> tuple[bool, dict[str, str]]:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(
                self.bucket_size, self._tokens + (now - self._bucket_at) * self.refill_per_second
            )
            self._bucket_at, allowed = now, self._tokens >= 1
            self._tokens -= allowed
            full_in = (self.bucket_size - self._tokens) / max(self.refill_per_second, 1e-9)
            return allowed, {
                "x-ratelimit-limit": str(self.bucket_size),
                "x-ratelimit-remaining": str(int(self._tokens)),
                "x-ratelimit-reset": str(int(time.time() + full_in + 0.999)),
            }

    def handle(self, request: RecordedRequest) -> Reply:
        if request.path == "/oauth/token" and request.method == "POST":
            return self._token(request)
        if request.path.startswith("/exports/"):
            return self._download(request.path.removeprefix("/exports/"))
        if not request.path.startswith("/api/v2/"):
            return self._error(404, "Not Found", "Not Found")
        allowed, headers = self._take()
        if not allowed:
            return self._error(
                429,
                "Too Many Requests",
                "Global limit has been reached",
                "too_many_requests",
                headers,
            )
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not token:
            return self._error(401, "Unauthorized", "Missing authentication", headers=headers)
        if token not in self.issued:
            return self._error(
                401,
                "Unauthorized",
                "Invalid token",
                headers=headers,
                attributes={"error": "Invalid token"},
            )
        if self.issued[token] <= time.time():
            return self._error(
                401, "Unauthorized", EXPIRED, headers=headers, attributes={"error": EXPIRED}
            )
        reply = self._route(request, request.path.removeprefix("/api/v2/"))
        reply.headers.update(headers)
        return reply

    def _route(self, request: RecordedRequest, path: str) -> Reply:
        if path == "users" and request.method == "GET":
            return self._search(request, list(self.users.values()), "users", "user_id")
        if path.startswith("users/") and request.method == "GET":
            user = self.users.get(unquote(path.removeprefix("users/")))
            if user is None:
                return self._error(404, "Not Found", "The user does not exist.", "inexistent_user")
            return json_reply(200, self._project(user, request.query))
        if path == "jobs/users-exports" and request.method == "POST":
            return self._create_export(request.json)
        if path.startswith("jobs/") and request.method == "GET":
            return self._poll(path.removeprefix("jobs/"))
        if path == "logs" and request.method == "GET":
            if "from" in request.query:
                return self._checkpoint(request)
            return self._search(request, self.logs, "logs", "log_id")
        return self._error(404, "Not Found", "Not Found")

    def _token(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.token_requests += 1
        form = (
            request.json
            if isinstance(request.json, dict)
            else {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        )
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            form = {**form, "client_id": user, "client_secret": password}
        if form.get("grant_type") != "client_credentials":
            return json_reply(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"Unsupported grant type: {form.get('grant_type')}",
                },
            )
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return json_reply(401, {"error": "access_denied", "error_description": "Unauthorized"})
        if form.get("audience") != self.audience:
            return json_reply(
                403,
                {
                    "error": "access_denied",
                    "error_description": "Service not enabled within domain: "
                    f"{form.get('audience')}",
                },
            )
        now = int(time.time())
        claims = {
            "iss": f"{self.base_url}/",
            "sub": f"{self.client_id}@clients",
            "aud": self.audience,
            "iat": now,
            "exp": now + self.token_ttl,
            "scope": self.scope,
            "gty": "client-credentials",
        }
        token = (
            ".".join(
                base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
                for part in ({"alg": "RS256", "typ": "JWT"}, claims)
            )
            + "."
            + secrets.token_urlsafe(32)
        )
        self.issued[token] = now + self.token_ttl
        return json_reply(
            200,
            {
                "access_token": token,
                "scope": self.scope,
                "expires_in": self.token_ttl,
                "token_type": "Bearer",
            },
        )

    @staticmethod
    def _project(item: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        fields = [f for f in query.get("fields", "").split(",") if f]
        if not fields:
            return item
        keep = query.get("include_fields", "true") != "false"
        return {k: v for k, v in item.items() if (k in fields) == keep}

    def _search(
        self, request: RecordedRequest, items: list[dict[str, Any]], key: str, id_field: str
    ) -> Reply:
        q = request.query
        per_page, page = int(q.get("per_page", "50")), int(q.get("page", "0"))
        if per_page > 100:
            return self._error(
                400,
                "Bad Request",
                f"Query validation error: 'Value {per_page} "
                "is greater than maximum 100' on property per_page (Number of "
                "results per page. Defaults to 50).",
                "invalid_query_string",
            )
        if (page + 1) * per_page > 1000:
            return self._error(400, "Bad Request", PAGING_MESSAGE, "invalid_paging")
        try:
            match = lucene(q.get("q", ""))
        except ValueError as error:
            return self._error(
                400, "Bad Request", f"Invalid query: {error}", "invalid_query_string"
            )
        found = sorted((i for i in items if match(i)), key=lambda i: i[id_field])
        sort = q.get("sort", "date:-1" if key == "logs" else "")
        if sort:
            field, _, order = sort.partition(":")
            found.sort(key=lambda i: str(i.get(field, "")), reverse=order == "-1")
        chunk = [self._project(i, q) for i in found[page * per_page : (page + 1) * per_page]]
        if q.get("include_totals") != "true":
            return json_reply(200, chunk)
        return json_reply(
            200,
            {
                key: chunk,
                "start": page * per_page,
                "limit": per_page,
                "length": len(chunk),
                "total": len(found),
            },
        )

    def _checkpoint(self, request: RecordedRequest) -> Reply:
        start, take = request.query["from"], int(request.query.get("take", "50"))
        if take > 100:
            return self._error(
                400,
                "Bad Request",
                f"Query validation error: 'Value {take} is "
                "greater than maximum 100' on property take.",
                "invalid_query_string",
            )
        chunk = [log for log in self.logs if log["log_id"] > start][:take]
        after = chunk[-1]["log_id"] if chunk else start
        link = f'<{self.base_url}/api/v2/logs?from={after}&take={take}>; rel="next"'
        return json_reply(200, chunk, {"Link": link})

    # -- users-exports jobs --------------------------------------------------------------------
    def _create_export(self, body: Any) -> Reply:
        body = body if isinstance(body, dict) else {}
        fmt, connection_id = body.get("format", "csv"), body.get("connection_id")
        if fmt not in ("json", "csv"):
            return self._error(
                400,
                "Bad Request",
                f"Payload validation error: 'No enum match for: \"{fmt}\"' on property format.",
                "invalid_body",
            )
        names = {v: k for k, v in CONNECTIONS.items()}
        if connection_id is not None and connection_id not in names:
            return self._error(
                400, "Bad Request", "The connection does not exist.", "inexistent_connection"
            )
        fields = body.get("fields") or [
            {"name": n} for n in ("user_id", "email", "name", "created_at", "updated_at")
        ]
        users = [
            u
            for u in self.users.values()
            if connection_id is None
            or names[connection_id] in _flat(_values(u, "identities.connection"))
        ]
        rows = [
            {f.get("export_as", f["name"]): next(iter(_values(u, f["name"])), None) for f in fields}
            for u in users[: body.get("limit") or len(users)]
        ]
        job = {
            "type": "users_export",
            "status": "pending",
            "connection_id": connection_id,
            "format": fmt,
            "limit": body.get("limit"),
            "fields": fields,
            "id": "job_" + secrets.token_hex(8),
            "created_at": ts(datetime.now(UTC)),
        }
        if connection_id:
            job["connection"] = names[connection_id]
        self.jobs[job["id"]] = {"job": job, "rows": rows, "polls": 0}
        return json_reply(201, {k: v for k, v in job.items() if v is not None})

    def _poll(self, job_id: str) -> Reply:
        entry = self.jobs.get(job_id)
        if entry is None:
            return self._error(404, "Not Found", "The job does not exist.", "inexistent_job")
        entry["polls"] += 1
        job = {k: v for k, v in entry["job"].items() if v is not None}
        if entry["polls"] < self.polls_until_complete:
            job.update(
                status="processing",
                time_left_seconds=1,
                percentage_done=100 * entry["polls"] // self.polls_until_complete,
            )
        elif self.export_failure:
            job.update(status="failed", status_details=self.export_failure)
        else:
            extension = "json" if job["format"] == "json" else "csv"
            job.update(
                status="completed", location=f"{self.base_url}/exports/{job_id}.{extension}.gz"
            )
        return json_reply(200, job)

    def _download(self, name: str) -> Reply:
        entry = self.jobs.get(name.split(".")[0])
        if entry is None or entry["polls"] < self.polls_until_complete or self.export_failure:
            return Reply(404, b"NoSuchKey", {"Content-Type": "text/plain"})
        if entry["job"]["format"] == "json":
            data = "".join(json.dumps(row) + "\n" for row in entry["rows"])
        else:
            out = io.StringIO()
            writer = csv.DictWriter(
                out, fieldnames=[f.get("export_as", f["name"]) for f in entry["job"]["fields"]]
            )
            writer.writeheader()
            writer.writerows(entry["rows"])
            data = out.getvalue()
        return Reply(200, gzip.compress(data.encode()), {"Content-Type": "application/gzip"})
