import logging

import pytest
import structlog

from consumers.core.logs import configure_logging, secret_masker


def test_secret_masker_replaces_every_known_secret() -> None:
    mask = secret_masker(["hunter2hunter2", "abcd"])
    event = mask(
        None, "info", {"event": "connect amqp://u:hunter2hunter2@h", "n": 3, "k": "abcdabcd"}
    )
    assert event == {"event": "connect amqp://u:***@h", "n": 3, "k": "******"}


def test_configured_logs_are_json_lines_without_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json", ["s3cr3t-value"])
    structlog.get_logger().info("connecting", url="amqp://u:s3cr3t-value@host/")
    err = capsys.readouterr().err
    assert '"url": "amqp://u:***@host/"' in err
    assert "s3cr3t-value" not in err
    assert '"level": "info"' in err


def test_library_logs_go_through_the_same_masking(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json", ["tok-3f9a1c77"])
    logging.getLogger("aiohttp.access").info(
        '127.0.0.1 "POST /auth0/logs?token=tok-3f9a1c77 HTTP/1.1" 401'
    )
    logging.getLogger("aiohttp.server").error("Error handling request: Bearer tok-3f9a1c77")
    err = capsys.readouterr().err
    assert "tok-3f9a1c77" not in err
    assert '"logger": "aiohttp.access"' in err and "token=***" in err
    assert '"logger": "aiohttp.server"' in err and '"level": "error"' in err
