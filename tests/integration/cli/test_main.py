import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings


def test_check_succeeds_against_the_real_services(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 0
    assert "ok: RabbitMQ amqp://guest:***@" in capsys.readouterr().out
