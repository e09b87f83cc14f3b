"""FullContact v3 person enrichment: ``POST /v3/person.enrich`` with ``{"email": ...}``.

The article's rule done properly: the answer is kept whole (which fields come back depends on the
account's data bundles; ``profile.facts`` maps the ones authstream uses). 200 → enriched, 404 →
not found (never asked again until it is stale); 400/422 → an error for that email. Everything
else is an outage, a rate limit or rejected credentials, raised by ``thirdparty.http``.
"""

import httpx

from consumers.core.settings import Settings
from consumers.enrich import Answer, Registration
from consumers.thirdparty.http import pooled_client, request

PATH = "/v3/person.enrich"


class FullContact:
    provider = "fullcontact"

    def __init__(self, client: httpx.AsyncClient, daily_budget: int, rps: float) -> None:
        self.client = client
        self.daily_budget = daily_budget
        self.requests_per_second = rps

    @classmethod
    def from_settings(cls, settings: Settings) -> "FullContact":
        assert settings.fullcontact_api_key is not None
        key = settings.fullcontact_api_key.get_secret_value()
        client = pooled_client(
            settings.fullcontact_base_url,
            settings.fullcontact_timeout_s,
            {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        return cls(client, settings.fullcontact_daily_budget, settings.fullcontact_rps)

    async def enrich(self, email: str) -> Answer:
        response = await request(
            self.client,
            "FullContact",
            "POST",
            PATH,
            handled=frozenset({200, 404}),
            json={"email": email},
        )
        if response.status_code == 200:
            body = response.json()
            return Answer("enriched", body if isinstance(body, dict) else {"value": body})
        if response.status_code == 404:
            return Answer("not_found")
        return Answer("error", reason=f"FullContact answered {response.status_code}")

    async def aclose(self) -> None:
        await self.client.aclose()


def _missing(settings: Settings) -> str | None:
    if settings.fullcontact_api_key is None:
        return "AUTHSTREAM_FULLCONTACT_API_KEY is not set"
    return None


REGISTRATION = Registration(missing=_missing, build=FullContact.from_settings)
