"""Where FullContact data may sit in a profile.

The article stores it as ``user_metadata.fullcontact`` in one place and reads ``fullContactInfo``
(user or app metadata) in another: accept all of them, plus our own enrichment block.
"""

from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dig(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def fullcontact_blobs(
    user: dict[str, Any], enrichment: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """FullContact payloads known for this user, most authoritative first."""
    blobs = [as_dict(enrichment)] if enrichment else []
    for metadata in ("user_metadata", "app_metadata"):
        for key in ("fullcontact", "fullContactInfo"):
            blob = dig(user, metadata, key)
            if isinstance(blob, dict):
                blobs.append(blob)
    return blobs
