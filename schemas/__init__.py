"""The authstream event contract (``authstream.event/1``) as pydantic v2 models.

``schemas/json/`` holds the JSON Schema generated from these models (``python -m schemas.export``),
so publishers in other languages validate against the same contract.
"""

from schemas.auth0 import Auth0Identity, Auth0User
from schemas.envelope import SCHEMA_ID, Event, EventContext, GeoContext

__all__ = ["SCHEMA_ID", "Auth0Identity", "Auth0User", "Event", "EventContext", "GeoContext"]
