"""Kibana saved objects stand-in: ``POST /api/saved_objects/_import`` and a minimal read-back.

Reproduced from Kibana's documentation (import objects API, find objects API) and its source
(route validation, import types):

* multipart/form-data with a ``file`` part holding NDJSON saved objects; the file name must end
  in ``.ndjson`` (400 "Invalid file extension .json"); the export summary line
  (``{"exportedCount": ...}``) is skipped; duplicate objects are a 400 "Non-unique import objects
  detected: [type:id]"; a line that is not JSON is a 400;
* non-GET requests need a ``kbn-xsrf`` (or ``kbn-version``) header, else 400 ``{"statusCode": 400,
  "error": "Bad Request", "message": "Request must contain a kbn-xsrf header."}``;
* ``overwrite`` and ``createNewCopies`` query flags, which cannot be combined (400 "[request
  query]: cannot use [overwrite] with [createNewCopies]"); new copies get new ids, reported as
  ``destinationId``, and references inside the file follow them;
* the answer ``{"successCount", "success", "warnings", "successResults": [{type, id, meta:
  {title}, overwrite?, destinationId?}], "errors": [{type, id, meta, error}]}`` where, as in
  Kibana, ``successResults``/``errors`` are left out when empty. Per-object errors:
  ``missing_references`` (with ``references: [{type, id}]``) for references that are neither in
  the file nor already saved, ``conflict`` for an existing object without ``overwrite``,
  ``unsupported_type``; objects in error are not saved, the others are;
* optional auth: ``Authorization: Basic`` (``username``/``password``) or ``ApiKey <key>``;
  spaces via the ``/s/<space>/`` prefix;
* ``GET /api/saved_objects/_find?type=..`` (``page``, ``per_page``, ``search`` on the title) and
  ``GET /api/saved_objects/<type>/<id>`` to read imported objects back.

Simplified: an object without ``type``, ``id`` or ``attributes`` is reported as an ``unknown``
error instead of whatever Kibana's migrations would do; no ``ambiguous_conflict``, no migrations
or ``compatibilityMode``, no ``_resolve_import_errors``. Not confirmed: the wording of the
missing-file and bad-JSON 400 messages and of the 401 body.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.standins.base import RecordedRequest, Reply, StandIn, json_reply

SUPPORTED_TYPES = frozenset(
    {
        "config",
        "dashboard",
        "index-pattern",
        "lens",
        "map",
        "query",
        "search",
        "tag",
        "visualization",
        "canvas-workpad",
        "graph-workspace",
        "url",
    }
)


def _boom(status: int, error: str, message: str) -> Reply:
    return json_reply(status, {"statusCode": status, "error": error, "message": message})


def multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Parts of a multipart/form-data body by field name: (file name, content)."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not found:
        return {}
    parts: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(b"--" + found.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        named = re.search(rb'name="([^"]*)"(?:; filename="([^"]*)")?', head)
        if named:
            filename = named.group(2).decode() if named.group(2) is not None else None
            parts[named.group(1).decode()] = (filename, data.removesuffix(b"\r\n"))
    return parts


class KibanaStandIn(StandIn):
    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        supported_types: frozenset[str] = SUPPORTED_TYPES,
    ) -> None:
        super().__init__()
        self.username, self.password, self.api_key = username, password, api_key
        self.supported_types = supported_types
        self.spaces: dict[str, dict[tuple[str, str], dict[str, Any]]] = {"default": {}}
        self.import_calls = 0
        self._lock = threading.Lock()

    def saved(self, type_: str, id_: str, space: str = "default") -> dict[str, Any] | None:
        return self.spaces.get(space, {}).get((type_, id_))

    def add_object(self, obj: dict[str, Any], space: str = "default") -> None:
        """Pre-existing object (to test conflicts and references to what Kibana already has)."""
        self.spaces.setdefault(space, {})[(obj["type"], obj["id"])] = obj

    def _authorized(self, request: RecordedRequest) -> bool:
        given = request.headers.get("authorization", "")
        if self.api_key is None and self.username is None:
            return True
        if self.api_key is not None and given == f"ApiKey {self.api_key}":
            return True
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return self.username is not None and given == f"Basic {basic}"

    def handle(self, request: RecordedRequest) -> Reply:
        routed = re.fullmatch(r"(?:/s/([^/]+))?/api/saved_objects/(.+)", request.path)
        if routed is None:
            return _boom(404, "Not Found", "Not Found")
        space, rest = routed.group(1) or "default", routed.group(2)
        if not self._authorized(request):
            return _boom(401, "Unauthorized", "Unauthorized")
        if request.method not in ("GET", "HEAD") and not (
            "kbn-xsrf" in request.headers or "kbn-version" in request.headers
        ):
            return _boom(400, "Bad Request", "Request must contain a kbn-xsrf header.")
        if rest == "_import" and request.method == "POST":
            return self._import(request, space)
        if rest == "_find" and request.method == "GET":
            return self._find(request, space)
        type_, _, id_ = rest.partition("/")
        found = self.saved(type_, id_, space) if request.method == "GET" else None
        if found is None:
            return _boom(404, "Not Found", f"Saved object [{type_}/{id_}] not found")
        return json_reply(200, found)

    def _import(self, request: RecordedRequest, space: str) -> Reply:
        with self._lock:
            self.import_calls += 1
        overwrite = request.query.get("overwrite") == "true"
        copies = request.query.get("createNewCopies") == "true"
        if overwrite and copies:
            return _boom(
                400, "Bad Request", "[request query]: cannot use [overwrite] with [createNewCopies]"
            )
        parts = multipart(request.headers.get("content-type", ""), request.body)
        if "file" not in parts:
            return _boom(
                400,
                "Bad Request",
                "[request body.file]: expected value of type [Stream] but got [undefined]",
            )
        filename, data = parts["file"]
        name = filename or ""
        extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension != ".ndjson":
            return _boom(400, "Bad Request", f"Invalid file extension {extension}")
        objects: list[Any] = []
        for number, line in enumerate(data.decode(errors="replace").splitlines(), 1):
            if line.strip():
                try:
                    obj = json.loads(line)
                except ValueError:
                    return _boom(400, "Bad Request", f"Unexpected token in JSON at line {number}")
                if not (isinstance(obj, dict) and "exportedCount" in obj):
                    objects.append(obj)
        keys = [f"{o.get('type')}:{o.get('id')}" for o in objects if isinstance(o, dict)]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            return _boom(
                400, "Bad Request", f"Non-unique import objects detected: [{','.join(repeated)}]"
            )
        return json_reply(200, self._apply(objects, space, overwrite, copies))

    def _apply(self, objects: list[Any], space: str, overwrite: bool, copies: bool) -> Any:
        store = self.spaces.setdefault(space, {})
        in_file = {(o.get("type"), o.get("id")) for o in objects if isinstance(o, dict)}
        new_ids = {key: str(uuid.uuid4()) for key in in_file} if copies else {}
        errors: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        for obj in objects:
            obj = obj if isinstance(obj, dict) else {}
            type_, id_, attributes = obj.get("type"), obj.get("id"), obj.get("attributes")
            meta = (
                {"title": attributes.get("title") or attributes.get("name")}
                if isinstance(attributes, dict)
                else {}
            )
            references = [r for r in obj.get("references") or [] if isinstance(r, dict)]
            missing = [
                {"type": r.get("type"), "id": r.get("id")}
                for r in references
                if (r.get("type"), r.get("id")) not in in_file
                and (r.get("type"), r.get("id")) not in store
            ]
            error: dict[str, Any] | None = None
            if not (
                isinstance(type_, str) and isinstance(id_, str) and isinstance(attributes, dict)
            ):
                error = {
                    "type": "unknown",
                    "statusCode": 400,
                    "message": "a saved object needs a string type and id and an attributes object",
                }
            elif type_ not in self.supported_types:
                error = {"type": "unsupported_type"}
            elif missing:
                error = {"type": "missing_references", "references": missing}
            elif (type_, id_) in store and not overwrite and not copies:
                error = {"type": "conflict"}
            if error is not None:
                errors.append({"type": type_, "id": id_, "meta": meta, "error": error})
                continue
            assert isinstance(type_, str) and isinstance(id_, str)
            result: dict[str, Any] = {"type": type_, "id": id_, "meta": meta}
            target = new_ids.get((type_, id_), id_)
            if copies:
                result["destinationId"] = target
                references = [
                    {**r, "id": new_ids.get((r.get("type"), r.get("id")), r.get("id"))}
                    for r in references
                ]
            elif (type_, id_) in store:
                result["overwrite"] = True
            store[(type_, target)] = {
                **obj,
                "id": target,
                "references": references,
                "namespaces": [space],
                "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "version": "WzEsMV0=",
            }
            results.append(result)
        answer: dict[str, Any] = {
            "successCount": len(results),
            "success": not errors,
            "warnings": [],
        }
        if results:
            answer["successResults"] = results
        if errors:
            answer["errors"] = errors
        return answer

    def _find(self, request: RecordedRequest, space: str) -> Reply:
        types = [t for value in request.query_lists.get("type", []) for t in value.split(",") if t]
        if not types:
            return _boom(
                400,
                "Bad Request",
                "[request query.type]: expected at least one defined value but got [undefined]",
            )
        page, per_page = (
            int(request.query.get("page", "1")),
            int(request.query.get("per_page", "20")),
        )
        search = request.query.get("search", "").strip("*").lower()
        found = [
            o
            for (t, _), o in sorted(self.spaces.get(space, {}).items())
            if t in types and search in str(o.get("attributes", {}).get("title", "")).lower()
        ]
        return json_reply(
            200,
            {
                "page": page,
                "per_page": per_page,
                "total": len(found),
                "saved_objects": found[(page - 1) * per_page : page * per_page],
            },
        )
