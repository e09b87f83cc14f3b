"""The checked-in JSON Schema files must match the models, and mean the same thing."""

import json

import jsonschema
import pytest

from schemas.export import JSON_DIR, expected_files
from tests.helpers import envelope


def test_checked_in_json_schemas_match_the_models() -> None:
    for name, text in expected_files().items():
        path = JSON_DIR / name
        assert path.exists(), f"{path} is missing: run `make schemas`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make schemas`"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((JSON_DIR / "authstream.event.1.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def test_the_json_schema_accepts_what_the_models_accept(
    validator: jsonschema.Draft202012Validator,
) -> None:
    event = envelope()
    event["user"] |= {"age": "33", "identities": [{"provider": "github", "user_id": 1234}]}
    assert list(validator.iter_errors(event)) == []


@pytest.mark.parametrize(
    "broken",
    [
        {"schema": "authstream.event/2"},
        {"user": {"email": "no-id@example.com"}},
        {"type": "NotAType"},
        {"event_id": ""},
    ],
)
def test_the_json_schema_rejects_what_the_models_reject(
    validator: jsonschema.Draft202012Validator, broken: dict[str, object]
) -> None:
    assert list(validator.iter_errors(envelope(**broken)))
