"""The Elasticsearch layout: index templates for user profiles and the events data stream.

Profiles live in a versioned index behind an alias (``authstream-users`` → ``authstream-users-v1``)
so a mapping change can be rolled out by reindexing behind the alias. Free-form Auth0 metadata is
kept in ``_source`` but not mapped field by field (``dynamic: false``), which protects the cluster
from mapping explosion. Nothing here needs scripting or optional modules.
"""

import hashlib
import json
from typing import Any

from consumers.core.names import Names
from consumers.core.settings import Settings

USERS_GENERATION = 1

_KEYWORD = {"type": "keyword", "ignore_above": 512}
_DATE = {"type": "date"}
_UNINDEXED = {"type": "object", "enabled": False}

USERS_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "user_id": _KEYWORD,
        "tenant": _KEYWORD,
        "email": _KEYWORD,
        "email_verified": {"type": "boolean"},
        "name": {"type": "text", "fields": {"keyword": _KEYWORD}},
        "nickname": {"type": "text", "fields": {"keyword": _KEYWORD}},
        "picture": {"type": "keyword", "index": False, "doc_values": False},
        "connection": _KEYWORD,
        "connections": _KEYWORD,
        "providers": _KEYWORD,
        "gender": _KEYWORD,
        "birth_date": _DATE,
        "birth_date_precision": _KEYWORD,
        "interests": _KEYWORD,
        "interest_sources": {"type": "flattened"},
        "twitter_handle": _KEYWORD,
        "location": {
            "properties": {
                "country_code": _KEYWORD,
                "city": _KEYWORD,
                "region": _KEYWORD,
                "point": {"type": "geo_point", "ignore_malformed": True},
            }
        },
        "marketing_consent": _KEYWORD,
        "first_seen": _DATE,
        "signed_up_at": _DATE,
        "last_login": _DATE,
        "last_seen": _DATE,
        "last_failed_login": _DATE,
        "logins_count": {"type": "long"},
        "returned": {"type": "boolean"},
        "counters": {"type": "object", "dynamic": True},
        "identity_updated_at": _DATE,
        "updated_at": _DATE,
        "deleted_at": _DATE,
        "fullcontact": {
            "properties": {"status": _KEYWORD, "updated_at": _DATE, "data": _UNINDEXED}
        },
        "sentiment": {
            "properties": {
                "status": _KEYWORD,
                "updated_at": _DATE,
                "score": {"type": "float"},
                "label": _KEYWORD,
                "mentions": {"type": "integer"},
            }
        },
        "auth0": _UNINDEXED,
        "last_geo": _UNINDEXED,
        "seen_interests": _UNINDEXED,
        "applied_events": {"type": "keyword", "index": False, "doc_values": False},
    },
    # Behaviour counters (counters.behavior.<action>) are numbers whatever their name.
    "dynamic_templates": [
        {"counters_are_longs": {"path_match": "counters.*", "mapping": {"type": "long"}}}
    ],
}

EVENTS_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "@timestamp": _DATE,
        "event": {
            "properties": {
                "id": _KEYWORD,
                "action": _KEYWORD,
                "dataset": _KEYWORD,
                "ingested": _DATE,
            }
        },
        "user": {"properties": {"id": _KEYWORD, "email": _KEYWORD, "name": _KEYWORD}},
        "source": {
            "properties": {
                "ip": {"type": "ip", "ignore_malformed": True},
                "geo": {
                    "properties": {
                        "country_iso_code": _KEYWORD,
                        "city_name": _KEYWORD,
                        "location": {"type": "geo_point", "ignore_malformed": True},
                    }
                },
            }
        },
        "user_agent": {"properties": {"original": _KEYWORD}},
        "auth0": {
            "properties": {
                "tenant": _KEYWORD,
                "client_id": _KEYWORD,
                "client_name": _KEYWORD,
                "connection": _KEYWORD,
                "connection_strategy": _KEYWORD,
            }
        },
        "data": {"type": "flattened"},
    },
}

_SHARED_SETTINGS = {
    "number_of_shards": 1,
    # 0 replicas on a single node (stays green), 1 as soon as there is a second node.
    "auto_expand_replicas": "0-1",
}


def fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _with_fingerprint(body: dict[str, Any]) -> dict[str, Any]:
    # ES normalises what it stores, so compare our own fingerprint instead of the bodies.
    return body | {"_meta": {"managed_by": "authstream", "fingerprint": fingerprint(body)}}


def users_template(settings: Settings) -> dict[str, Any]:
    names = Names(settings.name_prefix)
    return _with_fingerprint(
        {
            "index_patterns": [f"{names.users_alias}-v*"],
            "priority": 500,
            "template": {
                "settings": _SHARED_SETTINGS | {"refresh_interval": "1s"},
                "mappings": USERS_MAPPING,
            },
        }
    )


def events_template(settings: Settings) -> dict[str, Any]:
    names = Names(settings.name_prefix)
    return _with_fingerprint(
        {
            "index_patterns": [names.events_stream],
            "priority": 500,
            "data_stream": {},
            "template": {
                "settings": _SHARED_SETTINGS,
                "mappings": EVENTS_MAPPING,
                "lifecycle": {"data_retention": settings.events_retention},
            },
        }
    )


def templates(settings: Settings) -> dict[str, dict[str, Any]]:
    """Template name → body."""
    names = Names(settings.name_prefix)
    return {
        names.users_alias: users_template(settings),
        names.events_stream: events_template(settings),
    }


def tombstone_filter() -> dict[str, Any]:
    """Reads through the users alias hide erased users (kept as tombstones)."""
    return {"bool": {"must_not": {"exists": {"field": "deleted_at"}}}}
