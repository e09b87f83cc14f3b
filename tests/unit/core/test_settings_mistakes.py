"""Settings a user can get wrong: every mistake is a configuration error (exit 2) that names the
variable and never shows a password; a misspelt name is warned about instead of ignored."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from consumers.cli.main import main
from consumers.core.settings import Settings, misspelt_settings

PASSWORD = "Sup3rSecretPw"


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("ELASTICSEARCH_URL", f"http://elastic:{PASSWORD}@127.0.0.1:abc", "port"),
        ("ELASTICSEARCH_URL", "127.0.0.1:9200", "http:// or https://"),
        ("ELASTICSEARCH_URL", "ftp://x", "http:// or https://"),
        ("ELASTICSEARCH_URL", "", "http:// or https://"),
        ("ELASTICSEARCH_URL", "http://127.0.0.1:9200,http://", "no host"),
        ("AMQP_URL", "amqp://", "no host"),
        ("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/,amqp://", "no host"),
        ("AMQP_URL", f"amqp://u:{PASSWORD}@127.0.0.1:99999/", "1 to 65535"),
        ("RETRY_DELAYS_MS", "-5", "greater than or equal to 0"),
        ("EVENTS_RETENTION", "forever", "365d"),
    ],
)
def test_a_malformed_setting_exits_2_naming_it_without_its_secret(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    said: str,
) -> None:
    monkeypatch.setenv(f"AUTHSTREAM_{variable}", value)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert f"AUTHSTREAM_{variable}" in err and said in err, err
    assert PASSWORD not in err and "Traceback" not in err


def test_a_ca_certificate_must_be_a_file_and_go_with_https(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUTHSTREAM_ELASTICSEARCH_URL", "https://es.example:9200")
    monkeypatch.setenv("AUTHSTREAM_ELASTICSEARCH_CA_CERTS", str(tmp_path / "missing.pem"))
    with pytest.raises(ValidationError, match="is not a file"):
        Settings()
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("AUTHSTREAM_ELASTICSEARCH_CA_CERTS", str(ca))
    assert Settings().elasticsearch_ca_certs == ca
    monkeypatch.setenv("AUTHSTREAM_ELASTICSEARCH_URL", "http://es.example:9200")
    with pytest.raises(ValidationError, match="not https://"):
        Settings()


@pytest.mark.parametrize(
    ("value", "keywords"),
    [
        ("Innova Stride", ["Innova Stride"]),
        ("Innova Stride, InnovaShoes", ["Innova Stride", "InnovaShoes"]),
        ('["Innova Stride", "Stride, by Innova"]', ["Innova Stride", "Stride, by Innova"]),
    ],
)
def test_brand_keywords_in_plain_text_or_json(
    monkeypatch: pytest.MonkeyPatch, value: str, keywords: list[str]
) -> None:
    monkeypatch.setenv("AUTHSTREAM_BRAND_KEYWORDS", value)
    assert Settings().brand_keywords == keywords


def test_every_list_setting_is_read_as_text_first() -> None:
    """pydantic-settings decodes a list field's variable as JSON before any validator sees it,
    and plain text then escapes as a traceback; every list setting reads its own text."""
    for name, field in Settings.model_fields.items():
        if "list" in str(field.annotation):
            assert any(getattr(m, "__name__", "") == "NoDecode" for m in field.metadata), name


def test_a_misspelt_variable_is_warned_about_with_the_right_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTHSTREAM_AMQP_ULR", f"amqp://x:{PASSWORD}@prod:5672/")
    assert main(["check"]) in (0, 3)  # the default broker, up or not: the warning is the point
    err = capsys.readouterr().err
    assert "AUTHSTREAM_AMQP_ULR is not a setting" in err and "AUTHSTREAM_AMQP_URL" in err
    assert PASSWORD not in err


def test_variables_unlike_any_setting_pass_quietly() -> None:
    environment = {
        "AUTHSTREAM_CLUSTER_NODES": "3",
        "AUTHSTREAM_FUZZ_MIN_INPUTS": "100000",
        "AUTHSTREAM_BATCH_SIZE": "500",
        "AUTHSTREAM_ELASTICSEARCH_UR": "http://x",
    }
    assert misspelt_settings(environment) == [
        "AUTHSTREAM_ELASTICSEARCH_UR is not a setting and is ignored: did you mean "
        "AUTHSTREAM_ELASTICSEARCH_URL?"
    ]
