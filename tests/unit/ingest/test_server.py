"""`authstream ingest` over real HTTP into the real RabbitMQ, with Auth0 Log Stream shapes."""

from consumers.ingest.auth0_logs import event_type


def log(log_id: str, code: str, user_id: str | None = "auth0|5f1d", **extra: object) -> dict:
    """A Log Stream record shaped like Auth0's (fields from its log event schema)."""
    data = {
        "date": "2026-11-29T10:15:00.123Z",
        "type": code,
        "description": "",
        "connection": "Username-Password-Authentication",
        "connection_id": "con_9ZtDwYrZ6S8vH2m1",
        "client_id": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH",
        "client_name": "InnovaShoes Web",
        "ip": "203.0.113.9",
        "user_agent": "Chrome 131.0.0 / Mac OS X 14.6.1",
        "hostname": "innovashoes.eu.auth0.com",
        "user_id": user_id,
        "user_name": "runner@example.com",
        "strategy": "auth0",
        "strategy_type": "database",
        "details": {"prompts": [], "stats": {"loginsCount": 3}},
        "log_id": log_id,
        **extra,
    }
    return {"log_id": log_id, "data": data}


def test_the_log_type_mapping() -> None:
    assert [event_type(c) for c in ("s", "ss", "f", "fp", "fu", "sdu", "du", "slo")] == [
        "auth.login", "auth.signup", "auth.login_failed", "auth.login_failed",
        "auth.login_failed", "user.deleted", "user.deleted", "auth.logout",
    ]  # fmt: skip
    assert event_type("gd_send_sms") == "auth0.gd_send_sms"
    assert event_type("Weird-Code") == "auth0.weird_code"
