"""`authstream ingest` over real HTTP into the real RabbitMQ, with Auth0 Log Stream shapes."""

from consumers.ingest.auth0_logs import event_type


def test_the_log_type_mapping() -> None:
    assert [event_type(c) for c in ("s", "ss", "f", "fp", "fu", "sdu", "du", "slo")] == [
        "auth.login", "auth.signup", "auth.login_failed", "auth.login_failed",
        "auth.login_failed", "user.deleted", "user.deleted", "auth.logout",
    ]  # fmt: skip
    assert event_type("gd_send_sms") == "auth0.gd_send_sms"
    assert event_type("Weird-Code") == "auth0.weird_code"
