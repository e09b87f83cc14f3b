"""Generate the checked-in JSON Schema files from the models: ``python -m schemas.export``."""

import json
import sys
from pathlib import Path
from typing import Any

from schemas.envelope import Event

JSON_DIR = Path(__file__).parent / "json"

SCHEMA_FILES: dict[str, Any] = {"authstream.event.1.json": Event}


def render(model: Any) -> str:
    schema = model.model_json_schema(by_alias=True, mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    return {name: render(model) for name, model in SCHEMA_FILES.items()}


def main() -> int:
    JSON_DIR.mkdir(exist_ok=True)
    for name, text in expected_files().items():
        (JSON_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote {JSON_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
