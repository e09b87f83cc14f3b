"""X API v2 recent search stand-in: ``GET /2/tweets/search/recent``.

Reproduced from X's documentation (recent search reference, "build a query", pagination, rate
limits) and error bodies reported by X API users:

* app-only ``Authorization: Bearer <token>``; otherwise 401 with the problem JSON
  ``{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}``
  (``application/problem+json``);
* parameters ``query``, ``max_results`` (10-100, default 10), ``next_token``, ``since_id``,
  ``until_id``, ``start_time``/``end_time`` (ISO 8601), ``tweet.fields`` (``created_at``,
  ``author_id``, ``lang``, ``conversation_id``), ``expansions=author_id``, ``user.fields``;
  an invalid one answers 400 ``{"errors": [{"parameters": {...}, "message": ...}], "title":
  "Invalid Request", "detail": "One or more parameters to your request was invalid.", "type":
  "https://api.twitter.com/2/problems/invalid-request"}``;
* the query language subset: bare keywords (tokenized, case-insensitive), "quoted phrases",
  ``@mention``, ``#hashtag``, ``from:handle``, ``lang:xx``, ``is:retweet``, ``-`` negation, ``OR``,
  parentheses (any depth); a space is AND and binds tighter than OR, as documented. Like X it
  rejects ``AND`` ("Ambiguous use of and as a keyword..."), unbalanced parentheses, unknown
  operators and a query with no positive standalone clause (``lang:`` and ``is:`` need one);
* answers ``{"data": [...], "includes": {"users": [{"id", "name", "username"}]}, "meta":
  {"newest_id", "oldest_id", "result_count", "next_token"}}``, newest first; every post carries
  ``id``, ``text``, ``edit_history_tweet_ids``; an empty page is ``{"meta": {"result_count": 0}}``;
* only the last ``recent_days`` (7) days are searchable; an older ``start_time`` is a 400;
* ``x-rate-limit-limit``/``-remaining``/``-reset`` (epoch seconds) on every authorized answer, an
  enforced fixed window (``requests_per_window`` per ``window_seconds``, 450/15 min by default),
  and 429 ``{"title": "Too Many Requests", ... "status": 429}`` past it; ``unavailable()`` 503;
* ``posts_read`` counts the posts returned, which is what X bills.

Simplified: ids are snowflake-like (time-ordered) but not X's real ones; keyword matching does not
stem and ignores words inside hashtags/mentions; no ``sort_order``, ``pagination_token`` or other
expansions. Not confirmed from docs: the exact wording of the 400 messages and the 503 body.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.standins.base import RecordedRequest, Reply, StandIn, WindowLimiter, json_reply

SEARCH_PATH = "/2/tweets/search/recent"
PROBLEM = "application/problem+json"
DEFAULT_TOKEN = "test-x-bearer"
_TWITTER_EPOCH_MS = 1288834974657
_WORD = re.compile(r"[#@]?\w+")


class QueryError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(
            f"There were errors processing your request: {message} (at position {position + 1})"
        )


@dataclass(frozen=True)
class Post:
    id: str
    text: str
    author_id: str
    username: str
    name: str
    created_at: datetime
    lang: str
    is_retweet: bool


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# -- the query language ----------------------------------------------------------------------
Match = Callable[[Post], bool]
_TOKEN = re.compile(r'\s*(-?"[^"]*"|\(|\)|-?\(|[^\s()]+)')


class _Parser:
    """Recursive descent over: or := and ("OR" and)*;  and := unary+;  unary := "-"? primary;
    primary := "(" or ")" | phrase | term. Returns (matcher, has a positive standalone clause)."""

    def __init__(self, query: str) -> None:
        self.tokens: list[tuple[str, int]] = []
        for found in _TOKEN.finditer(query):
            if found.group(1):
                self.tokens.append((found.group(1), found.start(1)))
        self.i = 0

    def parse(self) -> Match:
        if not self.tokens:
            raise QueryError("Rules must contain at least one positive, non-stopword clause", 0)
        match, standalone = self._or()
        if self.i < len(self.tokens):
            raise QueryError("Unbalanced parentheses", self.tokens[self.i][1])
        if not standalone:
            raise QueryError(
                "Rules must contain a positive standalone clause; lang: and is: "
                "must be used in conjunction with one",
                0,
            )
        return match

    def _or(self) -> tuple[Match, bool]:
        parts = [self._and()]
        while self.i < len(self.tokens) and self.tokens[self.i][0] == "OR":
            self.i += 1
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        matchers = [m for m, _ in parts]
        return (lambda p: any(m(p) for m in matchers)), all(s for _, s in parts)

    def _and(self) -> tuple[Match, bool]:
        parts: list[tuple[Match, bool]] = []
        while self.i < len(self.tokens) and self.tokens[self.i][0] not in (")", "OR"):
            parts.append(self._unary())
        if not parts:
            position = self.tokens[self.i][1] if self.i < len(self.tokens) else 0
            raise QueryError("Expected a clause", position)
        matchers = [m for m, _ in parts]
        return (lambda p: all(m(p) for m in matchers)), any(s for _, s in parts)

    def _unary(self) -> tuple[Match, bool]:
        token, position = self.tokens[self.i]
        self.i += 1
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        if body == "(":
            inner, standalone = self._or()
            if self.i >= len(self.tokens) or self.tokens[self.i][0] != ")":
                raise QueryError("Unbalanced parentheses", position)
            self.i += 1
        elif body == ")":
            raise QueryError("Unbalanced parentheses", position)
        else:
            inner, standalone = self._term(body, position)
        if negated:
            return (lambda p: not inner(p)), False
        return inner, standalone

    @staticmethod
    def _term(term: str, position: int) -> tuple[Match, bool]:
        if term == "AND":
            raise QueryError(
                "Ambiguous use of and as a keyword. Use a space to logically join two "
                'clauses, or "and" to find occurrences of and in text',
                position,
            )
        if term.startswith('"'):
            words = [w.lstrip("#@") for w in _WORD.findall(term.lower())]
            return (lambda p: _contains(_bare_words(p.text), words)), True
        operator, sep, value = term.partition(":")
        if sep and operator == "from":
            handle = value.lower()
            return (lambda p: p.username.lower() == handle), True
        if sep and operator == "lang":
            return (lambda p: p.lang == value), False
        if sep and operator == "is" and value == "retweet":
            return (lambda p: p.is_retweet), False
        if sep and operator.isalpha():
            raise QueryError(
                f"Reference to invalid operator '{term}'. Operator is not available "
                "in current product or product packaging (or in this stand-in)",
                position,
            )
        lowered = term.lower()
        if lowered[:1] in "@#":
            return (lambda p: lowered in _WORD.findall(p.text.lower())), True
        return (lambda p: lowered in _bare_words(p.text)), True


def _bare_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w[0] not in "#@"]


def _contains(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


# -- the stand-in ------------------------------------------------------------------------------
class XStandIn(StandIn):
    def __init__(
        self,
        bearer_token: str = DEFAULT_TOKEN,
        *,
        requests_per_window: int | None = 450,
        window_seconds: float = 900.0,
        recent_days: int | None = 7,
    ) -> None:
        super().__init__()
        self.bearer_token, self.recent_days = bearer_token, recent_days
        self.limiter = WindowLimiter(requests_per_window, window_seconds)
        self.posts: list[Post] = []
        self.users: dict[str, tuple[str, str]] = {}  # lower-cased username -> (id, name)
        self.posts_read = 0
        self.reads_by_query: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add_post(
        self,
        text: str,
        username: str,
        *,
        created_at: datetime | None = None,
        lang: str = "en",
        name: str | None = None,
        retweet: bool | None = None,
    ) -> Post:
        """Seed a post; ``created_at`` defaults to now, ids grow with time."""
        moment = (created_at or datetime.now(UTC)).astimezone(UTC)
        with self._lock:
            user = self.users.setdefault(
                username.lower(), (str(1_500_000_000 + len(self.users)), name or username.title())
            )
            snowflake = (int(moment.timestamp() * 1000) - _TWITTER_EPOCH_MS) << 22
            post = Post(
                str(snowflake + len(self.posts)),
                text,
                user[0],
                username,
                user[1],
                moment,
                lang,
                text.startswith("RT @") if retweet is None else retweet,
            )
            self.posts.append(post)
        return post

    def search(self, query: str) -> list[Post]:
        """What the endpoint would match (newest first), ignoring paging and time windows."""
        return self._matching(_Parser(query).parse())

    def throttle(self, times: int | None = 1) -> None:
        reset = int(self.limiter.reset_at())
        self.fail(
            429,
            times=times,
            body={
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            },
            headers={
                "Content-Type": PROBLEM,
                "x-rate-limit-limit": str(self.limiter.limit),
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        )

    def unavailable(self, times: int | None = 1) -> None:
        self.fail(
            503,
            times=times,
            headers={"Content-Type": PROBLEM},
            body={
                "title": "Service Unavailable",
                "detail": "Service Unavailable",
                "type": "about:blank",
                "status": 503,
            },
        )

    @staticmethod
    def _invalid(parameter: str, value: str, message: str, headers: dict[str, str]) -> Reply:
        return json_reply(
            400,
            {
                "errors": [{"parameters": {parameter: [value]}, "message": message}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            },
            headers,
        )

    def handle(self, request: RecordedRequest) -> Reply:
        if request.path != SEARCH_PATH or request.method != "GET":
            return json_reply(
                404,
                {
                    "title": "Not Found Error",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                    "detail": "Not Found",
                },
                None,
                PROBLEM,
            )
        if request.headers.get("authorization") != f"Bearer {self.bearer_token}":
            return json_reply(
                401,
                {
                    "title": "Unauthorized",
                    "type": "about:blank",
                    "status": 401,
                    "detail": "Unauthorized",
                },
                None,
                PROBLEM,
            )
        allowed, remaining, reset = self.limiter.take()
        headers = {
            "x-rate-limit-limit": str(self.limiter.limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(reset)),
        }
        if not allowed:
            return json_reply(
                429,
                {
                    "title": "Too Many Requests",
                    "detail": "Too Many Requests",
                    "type": "about:blank",
                    "status": 429,
                },
                headers,
                PROBLEM,
            )
        q = request.query
        query = q.get("query", "")
        if not query.strip():
            return self._invalid(
                "query", query, "The `query` query parameter can not be empty", headers
            )
        try:
            match = _Parser(query).parse()
        except QueryError as error:
            return self._invalid("query", query, str(error), headers)
        size_text = q.get("max_results", "10")
        if not size_text.isdigit() or not 10 <= int(size_text) <= 100:
            return self._invalid(
                "max_results",
                size_text,
                f"The `max_results` query parameter value [{size_text}] is not between 10 and 100",
                headers,
            )
        now = datetime.now(UTC)
        earliest = now - timedelta(days=self.recent_days) if self.recent_days else None
        try:
            start = _parse_time(q["start_time"]) if "start_time" in q else earliest
            end = _parse_time(q["end_time"]) if "end_time" in q else None
        except ValueError:
            name = "start_time" if "start_time" in q else "end_time"
            return self._invalid(
                name,
                q[name],
                f"Invalid '{name}':'{q[name]}'. '{name}' must be a valid ISO 8601 date",
                headers,
            )
        if start is not None and earliest is not None and start < earliest:
            return self._invalid(
                "start_time",
                q["start_time"],
                f"Invalid 'start_time':'"
                f"{q['start_time']}'. 'start_time' must be on or after "
                f"{earliest:%Y-%m-%dT%H:%MZ}",
                headers,
            )
        for name in ("since_id", "until_id"):
            if name in q and not q[name].isdigit():
                return self._invalid(
                    name,
                    q[name],
                    f"The `{name}` query parameter value [{q[name]}] is not a valid Post ID",
                    headers,
                )
        token = q.get("next_token")
        if token is not None and not re.fullmatch(r"b[0-9a-f]+", token):
            return self._invalid(
                "next_token",
                token,
                f"The `next_token` query parameter value [{token}] is not valid",
                headers,
            )
        found = [
            p
            for p in self._matching(match)
            if (start is None or p.created_at >= start)
            and (end is None or p.created_at < end)
            and ("since_id" not in q or int(p.id) > int(q["since_id"]))
            and ("until_id" not in q or int(p.id) < int(q["until_id"]))
            and (token is None or int(p.id) < int(token[1:], 16))
        ]
        page = found[: int(size_text)]
        with self._lock:
            self.posts_read += len(page)
            self.reads_by_query[query] += len(page)
        if not page:
            return json_reply(200, {"meta": {"result_count": 0}}, headers)
        return json_reply(200, self._page(request, page, more=len(found) > len(page)), headers)

    def _matching(self, match: Match) -> list[Post]:
        with self._lock:
            posts = list(self.posts)
        return sorted((p for p in posts if match(p)), key=lambda p: -int(p.id))

    @staticmethod
    def _page(request: RecordedRequest, page: list[Post], more: bool) -> dict[str, Any]:
        fields = set(filter(None, request.query.get("tweet.fields", "").split(",")))
        data = []
        for post in page:
            item: dict[str, Any] = {
                "id": post.id,
                "text": post.text,
                "edit_history_tweet_ids": [post.id],
            }
            extra = {
                "created_at": _iso(post.created_at),
                "author_id": post.author_id,
                "lang": post.lang,
                "conversation_id": post.id,
            }
            item.update({k: v for k, v in extra.items() if k in fields})
            data.append(item)
        body: dict[str, Any] = {"data": data}
        if "author_id" in request.query.get("expansions", "").split(","):
            users = {
                p.author_id: {"id": p.author_id, "name": p.name, "username": p.username}
                for p in page
            }
            body["includes"] = {"users": list(users.values())}
        body["meta"] = {
            "newest_id": page[0].id,
            "oldest_id": page[-1].id,
            "result_count": len(page),
        }
        if more:
            body["meta"]["next_token"] = f"b{int(page[-1].id):x}"
        return body
