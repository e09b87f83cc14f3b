import os
import re
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from consumers.cli.main import main
from consumers.core.settings import Settings, redact_url
from tests.helpers import REPO_ROOT


def test_settings_come_from_authstream_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHSTREAM_AMQP_URL", "amqps://auth0:s3cr3t-pw@mq.example:5671/prod")
    monkeypatch.setenv("AUTHSTREAM_RETRY_DELAYS_MS", "[500, 5000]")
    monkeypatch.setenv("AUTHSTREAM_QUEUE_TYPE", "classic")
    monkeypatch.setenv("AUTHSTREAM_ELASTICSEARCH_API_KEY", "a2V5LWlkOmtleS1zZWNyZXQ=")
    settings = Settings()
    assert settings.retry_delays_ms == [500, 5000]
    assert settings.queue_type == "classic"
    assert settings.amqp_url_redacted == "amqps://auth0:***@mq.example:5671/prod"


def test_secrets_never_appear_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSTREAM_AMQP_URL", "amqp://u:hunter2hunter2@h/")
    monkeypatch.setenv("AUTHSTREAM_ELASTICSEARCH_API_KEY", "topsecretkey")
    settings = Settings()
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "hunter2hunter2" not in text
        assert "topsecretkey" not in text
    assert set(settings.secret_values()) == {"hunter2hunter2", "topsecretkey"}


@pytest.mark.parametrize("prefix", ["Upper-", "-lead", "sp ace"])
def test_name_prefix_must_be_a_valid_index_name(prefix: str) -> None:
    with pytest.raises(ValidationError):
        Settings(name_prefix=prefix)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/"),
        ("amqp://localhost/", "amqp://localhost/"),
        ("amqps://u:p%40ss@host/vh", "amqps://u:***@host/vh"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def _configured(script: str, pattern: str) -> str:
    found = re.search(pattern, (REPO_ROOT / "deploy" / "local" / script).read_text(), re.MULTILINE)
    assert found, f"{pattern} not in deploy/local/{script}"
    return found[1]


def test_with_nothing_set_authstream_talks_to_the_services_make_services_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The defaults against what deploy/local configures (an independent source): changing a
    port or an address on one side only fails here, not on a fresh machine."""
    for name in [n for n in os.environ if n.startswith("AUTHSTREAM_")]:
        monkeypatch.delenv(name)
    settings = Settings()
    amqp = urlsplit(settings.amqp_url.get_secret_value())
    listener = _configured("rabbitmq.sh", r"^listeners\.tcp\.default = ([\d.]+:\$AMQP_PORT)$")
    amqp_port = _configured("rabbitmq.sh", r"^AMQP_PORT=(\d+)$")
    assert f"{amqp.hostname}:{amqp.port}" == listener.replace("$AMQP_PORT", amqp_port)
    assert (amqp.username, amqp.password) == ("guest", "guest")  # the broker's own loopback user
    search = urlsplit(settings.elasticsearch_url)
    host = _configured("elasticsearch.sh", r"^network\.host: ([\d.]+)$")
    port = _configured("elasticsearch.sh", r'^ES_PORT="\$\{AUTHSTREAM_LOCAL_ES_PORT:-(\d+)\}"$')
    assert (search.hostname, search.port) == (host, int(port))
    assert settings.name_prefix == ""  # the names deploy/ and the Kibana objects use


@pytest.mark.parametrize(
    ("password", "code"), [("se/cret", "%2F"), ("se#cret", "%23"), ("se?cret", "%3F")]
)
def test_an_amqp_password_that_breaks_the_url_is_a_clear_error_that_hides_it(
    password: str, code: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTHSTREAM_AMQP_URL", f"amqp://user:{password}@rabbit:5672/")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "invalid configuration: AUTHSTREAM_AMQP_URL" in err
    assert "percent-encode" in err and code in err
    assert password not in err and "Traceback" not in err


def test_retry_delays_may_be_a_plain_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSTREAM_RETRY_DELAYS_MS", "1000, 2000,5000")
    assert Settings().retry_delays_ms == [1000, 2000, 5000]
    monkeypatch.setenv("AUTHSTREAM_RETRY_DELAYS_MS", "[300]")
    assert Settings().retry_delays_ms == [300]


def test_an_elasticsearch_password_is_redacted_and_masked_in_logs() -> None:
    settings = Settings(elasticsearch_url="https://elastic:p%40ss-word9@es1:9200,http://es2:9200")
    assert settings.elasticsearch_url_redacted == "https://elastic:***@es1:9200,http://es2:9200"
    assert {"p%40ss-word9", "p@ss-word9"} <= set(settings.secret_values())


def test_a_cluster_is_a_comma_separated_list_of_amqp_urls_each_checked_and_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AUTHSTREAM_AMQP_URL", "amqp://u:s3cret-1@mq1:5672/, amqp://u:s3cret-2@mq2:5672/"
    )
    settings = Settings()
    assert settings.amqp_urls() == ["amqp://u:s3cret-1@mq1:5672/", "amqp://u:s3cret-2@mq2:5672/"]
    assert settings.amqp_url_redacted == "amqp://u:***@mq1:5672/,amqp://u:***@mq2:5672/"
    assert {"s3cret-1", "s3cret-2"} <= set(settings.secret_values())
    monkeypatch.setenv("AUTHSTREAM_AMQP_URL", "amqp://u:pw@mq1/,http://mq2/")
    with pytest.raises(ValidationError, match="amqp://"):
        Settings()
