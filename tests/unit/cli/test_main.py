import pytest

from consumers.cli.main import main


def test_invalid_configuration_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTHSTREAM_QUEUE_TYPE", "stream")
    assert main(["check"]) == 2
    assert "invalid configuration: AUTHSTREAM_QUEUE_TYPE" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("authstream ")


def test_unreachable_services_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTHSTREAM_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/")
    assert main(["check"]) == 3
    assert "unreachable" in capsys.readouterr().err
