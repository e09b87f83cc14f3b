"""A secured Elasticsearch stand-in: just enough of a node with security on to test how authstream
presents its credentials, trusts a CA, and takes a refusal. The local test node runs with security
off, so these cases need a server of their own.

Reproduced from Elasticsearch's documentation (security, API keys, the REST API's error format):

* credentials come in the ``Authorization`` header: ``ApiKey <base64 id:key>`` (as the client
  sends ``api_key``) or ``Basic <base64 user:password>``;
* a request without accepted credentials gets 401 with ``WWW-Authenticate`` challenges and the
  error body ``{"error": {"root_cause": [...], "type": "security_exception", "reason": "unable to
  authenticate user [..] for REST request [..]", ...}, "status": 401}``; ``forbid()`` makes
  accepted credentials answer 403 ``action [..] is unauthorized for user [..]`` instead;
* every answer carries ``X-Elastic-Product: Elasticsearch`` (the Python client refuses a server
  without it); ``GET /_cluster/health`` answers a green single-node cluster, anything else ``{}``
  (enough for a client that only checks it can talk);
* with ``tls`` (a certificate and key file), it speaks HTTPS only.

Not reproduced: realms, token service, role checks per index; any path but the health check.
"""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

from tests.standins.base import RecordedRequest, Reply, StandIn, json_reply

PRODUCT = {"X-Elastic-Product": "Elasticsearch"}
CHALLENGES = 'Basic realm="security", charset="UTF-8", ApiKey'


class SecuredElasticsearch(StandIn):
    def __init__(
        self,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        super().__init__()
        self.accepted: set[str] = set()
        if api_key is not None:
            self.accepted.add(f"ApiKey {api_key}")
        if username is not None and password is not None:
            pair = base64.b64encode(f"{username}:{password}".encode()).decode()
            self.accepted.add(f"Basic {pair}")
        self.forbidden = False
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.tls = context

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def forbid(self) -> None:
        """Accepted credentials, but the user may do nothing (a role taken away)."""
        self.forbidden = True

    def handle(self, request: RecordedRequest) -> Reply:
        presented = request.headers.get("authorization", "")
        if presented not in self.accepted:
            who = "" if not presented else "[authstream]"
            return json_reply(
                401,
                _security_error(
                    f"unable to authenticate user {who or '[_anonymous]'} for REST request "
                    f"[{request.path}]",
                    401,
                ),
                PRODUCT | {"WWW-Authenticate": CHALLENGES},
            )
        if self.forbidden:
            return json_reply(
                403,
                _security_error(
                    f"action [cluster:monitor/health] is unauthorized for user [authstream] "
                    f"for REST request [{request.path}]",
                    403,
                ),
                PRODUCT,
            )
        if request.path.startswith("/_cluster/health"):
            return json_reply(200, {"cluster_name": "secured", "status": "green"}, PRODUCT)
        return json_reply(200, {}, PRODUCT)


def _security_error(reason: str, status: int) -> dict[str, object]:
    cause = {"type": "security_exception", "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}
