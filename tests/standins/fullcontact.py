"""FullContact v3 Person Enrich stand-in: ``POST /v3/person.enrich``.

Reproduced from FullContact's documentation (Enrich API, Response Codes & Errors, Rate Limiting)
and the response fixtures of FullContact's official Python client:

* ``Authorization: Bearer <key>``; a JSON body naming the person by ``email``, ``emails``,
  ``phone`` or ``phones`` (the other multi-field inputs are accepted and ignored);
* 200 with the v3 person: ``fullName``, ``ageRange``, ``gender``, ``location``, ``title``,
  ``organization``, ``twitter``/``linkedin`` URLs, ``bio``, ``avatar``, ``website``, ``details``
  (``name``, ``age`` with ``range``/``value``/``birthday``, ``gender``, ``emails``, ``phones``,
  ``profiles``, ``locations``, ``employment``, ``photos``, ``urls``, ``interests``), ``updated``;
* 404 ``{"status": 404, "message": "Profile not found"}`` for an unknown person; 400
  ``{"code": 400, "message": "Unable to process JSON"}`` for a body that is not JSON (sic: that
  error says ``code``); 422 when no queryable input is given; 405 for another method;
* a wrong or missing key answers 401 (``bad_key_status=403`` switches to the 403 body that the
  official client's fixture shows: "API Key is missing or invalid. Please check your request.");
* rate limits: every answer carries ``X-Rate-Limit`` (the documented name), ``X-Rate-Limit-Limit``
  (the name some clients read), ``X-Rate-Limit-Remaining``, ``X-Rate-Limit-Reset`` (seconds until
  the window resets) and ``X-FullContact-RateDelay``; beyond ``rate_limit_per_second`` it answers
  429 with ``Retry-After``; ``throttle()`` scripts 429s, ``unavailable()`` 503 with Retry-After.

Simplified: the real service first *delays* answers up to 1000 ms to stay in the limit
(``X-FullContact-RateDelay`` > 0) and answers 429 only past that; here it is 429 at once and the
delay header is always 0. No 202/webhook flow, no ``dataFilter`` bundles, no confidence levels.
Not confirmed from docs: the wording of the 401, 422 and 429 messages.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date
from typing import Any

from tests.standins.base import RecordedRequest, Reply, StandIn, WindowLimiter, json_reply

ENRICH_PATH = "/v3/person.enrich"


def age_range(age: int) -> str:
    for low, high in ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64)):
        if low <= age <= high:
            return f"{low}-{high}"
    return "65+" if age >= 65 else "13-17"


def make_person(
    email: str,
    full_name: str,
    *,
    gender: str = "Male",
    birthday: date | None = None,
    city: str = "Denver",
    region: str = "Colorado",
    region_code: str = "CO",
    country: str = "United States",
    country_code: str = "US",
    twitter: str | None = None,
    title: str = "Product Manager",
    organization: str = "Acme Corp",
    interests: list[str] | None = None,
    phones: list[str] | None = None,
) -> dict[str, Any]:
    """A person in the v3 response shape; ``twitter`` is a handle without the @."""
    given, _, family = full_name.partition(" ")
    slug = full_name.lower().replace(" ", "-")
    age = None
    if birthday is not None:
        today = date.today()
        before_birthday = (today.month, today.day) < (birthday.month, birthday.day)
        age = today.year - birthday.year - before_birthday
    profiles: dict[str, Any] = {
        "linkedin": {
            "username": slug,
            "url": f"https://www.linkedin.com/in/{slug}",
            "bio": f"{title} at {organization}",
            "service": "linkedin",
        }
    }
    if twitter:
        profiles["twitter"] = {
            "username": twitter,
            "url": f"https://twitter.com/{twitter}",
            "bio": f"{title} at {organization}",
            "service": "twitter",
        }
    formatted = f"{city}, {region}, {country}"
    details: dict[str, Any] = {
        "name": {"given": given, "family": family, "full": full_name},
        "age": None
        if birthday is None
        else {
            "range": age_range(age or 0),
            "value": age,
            "birthday": {"year": birthday.year, "month": birthday.month, "day": birthday.day},
        },
        "gender": gender,
        "emails": [{"label": "personal", "value": email}],
        "phones": [{"label": "mobile", "value": p} for p in phones or []],
        "profiles": profiles,
        "locations": [
            {
                "city": city,
                "region": region,
                "regionCode": region_code,
                "country": country,
                "countryCode": country_code,
                "formatted": formatted,
            }
        ],
        "employment": [
            {
                "name": organization,
                "current": True,
                "title": title,
                "start": {"year": 2019, "month": 9},
            }
        ],
        "photos": [{"label": "avatar", "value": f"https://img.fullcontact.com/static/{slug}.png"}],
        "education": [],
        "urls": [{"value": f"https://{slug}.example.com/"}],
        "interests": [
            {
                "name": name,
                "id": f"{i + 1:03d}",
                "affinity": "HIGH",
                "parentIds": ["000"],
                "category": "Interests",
            }
            for i, name in enumerate(interests or [])
        ],
    }
    return {
        "fullName": full_name,
        "ageRange": details["age"]["range"] if details["age"] else None,
        "gender": gender,
        "location": formatted,
        "title": title,
        "organization": organization,
        "twitter": profiles.get("twitter", {}).get("url"),
        "linkedin": profiles["linkedin"]["url"],
        "facebook": None,
        "bio": f"{title} at {organization}",
        "avatar": details["photos"][0]["value"],
        "website": details["urls"][0]["value"],
        "details": details,
        "updated": "2024-01-01",
    }


class FullContactStandIn(StandIn):
    def __init__(
        self,
        api_key: str = "test-fullcontact-key",
        *,
        rate_limit_per_second: int | None = None,
        retry_after: int = 1,
        bad_key_status: int = 401,
    ) -> None:
        super().__init__()
        self.api_key, self.retry_after, self.bad_key_status = api_key, retry_after, bad_key_status
        self.limiter = WindowLimiter(rate_limit_per_second, 1.0)
        self.people: dict[str, dict[str, Any]] = {}  # by lower-cased email or phone
        self.calls: Counter[str] = Counter()  # every request naming this email/phone
        self.matches: Counter[str] = Counter()  # 200 answers (what FullContact bills)
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight_by_key: Counter[str] = Counter()
        self.max_in_flight = 0
        self._total_in_flight = 0
        self._lock = threading.Lock()

    # -- seeding ---------------------------------------------------------------------------
    def add_person(self, email: str, full_name: str, **fields: Any) -> dict[str, Any]:
        """Seed a person (see ``make_person`` for the fields); returns the 200 body."""
        person = make_person(email, full_name, **fields)
        self.people[email.lower()] = person
        for phone in fields.get("phones") or []:
            self.people[phone] = person
        return person

    def seed(self, email: str, person: dict[str, Any]) -> None:
        """Seed a hand-written v3 body (e.g. one with only some bundles' fields)."""
        self.people[email.lower()] = person

    # -- scripted errors -------------------------------------------------------------------
    def throttle(self, times: int | None = 1, retry_after: int | None = None) -> None:
        """The next ``times`` requests answer 429 with Retry-After and rate-limit headers."""
        seconds = retry_after if retry_after is not None else self.retry_after
        headers = {"Retry-After": str(seconds), **self._limit_headers(0, float(seconds))}
        self.fail(
            429,
            times=times,
            headers=headers,
            body={"status": 429, "message": "Too Many Requests: rate limit exceeded"},
        )

    def unavailable(self, times: int | None = 1, status: int = 503) -> None:
        body = {
            "status": status,
            "message": "There is a transient downstream error condition."
            if status == 503
            else "Internal Server Error",
        }
        self.fail(
            status,
            times=times,
            body=body,
            headers={"Retry-After": str(self.retry_after)} if status == 503 else None,
        )

    # -- counters --------------------------------------------------------------------------
    def calls_for(self, email: str) -> int:
        return self.calls[email.lower()]

    def max_in_flight_for(self, email: str) -> int:
        return self.max_in_flight_by_key[email.lower()]

    # -- the endpoint ------------------------------------------------------------------------
    @staticmethod
    def _inputs(request: RecordedRequest) -> list[str]:
        """The identifiers a request names, emails first (lower-cased), then phones."""
        body = request.json if isinstance(request.json, dict) else {}
        emails = [body.get("email"), *(body.get("emails") or [])]
        phones = [body.get("phone"), *(body.get("phones") or [])]
        return [str(e).lower() for e in emails if e] + [str(p) for p in phones if p]

    def _key_of(self, request: RecordedRequest) -> str | None:
        found = self._inputs(request)
        return found[0] if found else None

    def on_start(self, request: RecordedRequest) -> None:
        key = self._key_of(request) if request.path == ENRICH_PATH else None
        with self._lock:
            self._total_in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._total_in_flight)
            if key is not None:
                self.calls[key] += 1
                self.in_flight[key] += 1
                self.max_in_flight_by_key[key] = max(
                    self.max_in_flight_by_key[key], self.in_flight[key]
                )

    def on_finish(self, request: RecordedRequest) -> None:
        key = self._key_of(request) if request.path == ENRICH_PATH else None
        with self._lock:
            self._total_in_flight -= 1
            if key is not None:
                self.in_flight[key] -= 1

    def _limit_headers(self, remaining: int, reset_in: float) -> dict[str, str]:
        limit = str(self.limiter.limit or 600)
        return {
            "X-Rate-Limit": limit,
            "X-Rate-Limit-Limit": limit,
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(max(int(reset_in + 0.999), 0)),
            "X-FullContact-RateDelay": "0",
        }

    def handle(self, request: RecordedRequest) -> Reply:
        if request.path != ENRICH_PATH:
            return json_reply(
                404,
                {
                    "status": 404,
                    "message": f"Endpoint {request.method} "
                    f"{request.path} not found. Please check "
                    "https://docs.fullcontact.com or contact "
                    "support@fullcontact.com",
                },
            )
        if request.method != "POST":
            return json_reply(405, {"status": 405, "message": "Method Not Allowed"})
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            if self.bad_key_status == 403:
                message = "API Key is missing or invalid. Please check your request."
                return json_reply(403, {"status": 403, "message": message})
            return json_reply(401, {"status": 401, "message": "401: Invalid access token"})
        allowed, remaining, reset_at = self.limiter.take()
        headers = self._limit_headers(remaining, reset_at - time.time())
        if not allowed:
            headers["Retry-After"] = str(self.retry_after)
            return json_reply(
                429, {"status": 429, "message": "Too Many Requests: rate limit exceeded"}, headers
            )
        if not isinstance(request.json, dict):
            return json_reply(400, {"code": 400, "message": "Unable to process JSON"}, headers)
        key = self._key_of(request)
        if key is None:
            return json_reply(
                422,
                {
                    "status": 422,
                    "message": "No queryable inputs given (email, emails, phone, phones, "
                    "profiles, location with name, maids, recordId, personId)",
                },
                headers,
            )
        for candidate in self._inputs(request):
            if candidate in self.people:
                with self._lock:
                    self.matches[key] += 1
                return json_reply(200, self.people[candidate], headers)
        return json_reply(404, {"status": 404, "message": "Profile not found"}, headers)
