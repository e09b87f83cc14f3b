"""AUTHSTREAM_COLLECT_KEYS and AUTHSTREAM_COLLECT_ORIGINS: parsed, checked, never shown."""

import pytest
from pydantic import ValidationError

from consumers.core.settings import Settings, collect_sources

KEY_WEB, KEY_APP = "w" * 24, "a" * 24


def test_keys_map_to_their_sources_and_are_redacted_one_by_one() -> None:
    settings = Settings(collect_keys=f"shop-web:{KEY_WEB}, shop-app:{KEY_APP}")  # type: ignore[arg-type]
    assert collect_sources(settings.collect_keys.get_secret_value()) == {  # type: ignore[union-attr]
        KEY_WEB: "shop-web",
        KEY_APP: "shop-app",
    }
    assert KEY_WEB in settings.secret_values() and KEY_APP in settings.secret_values()
    assert KEY_WEB not in repr(settings)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("shop-web", "entry 1 is not SOURCE:KEY"),
        (f"Shop Web:{KEY_WEB}", "entry 1 is not SOURCE:KEY"),
        ("shop-web:short-key", "the key of shop-web is shorter than 16 characters"),
        (f"shop-web:{KEY_WEB},shop-app:{KEY_WEB}", "shop-app is listed twice, or shares its key"),
        (f"shop-web:{KEY_WEB},shop-web:{KEY_APP}", "shop-web is listed twice"),
    ],
)
def test_bad_keys_are_refused_without_showing_a_key(value: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(collect_keys=value)  # type: ignore[arg-type]
    # What `authstream` prints: the messages, without the input (as cli.main does).
    said = " ".join(e["msg"] for e in caught.value.errors(include_url=False, include_input=False))
    assert reason in said
    assert KEY_WEB not in said and "short-key" not in said


def test_an_empty_variable_is_no_collector() -> None:
    assert Settings(collect_keys="  ").collect_keys is None  # type: ignore[arg-type]


def test_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AUTHSTREAM_COLLECT_ORIGINS", "https://shop.example.com, http://localhost:3000"
    )
    assert Settings().collect_origins == ["https://shop.example.com", "http://localhost:3000"]
    monkeypatch.setenv("AUTHSTREAM_COLLECT_ORIGINS", "https://shop.example.com/")
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings()
