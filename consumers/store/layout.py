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
# A stage's finding per provider: what segments filter on is mapped, the raw answer is kept only.
_FINDING = {
    "dynamic": False,
    "properties": {
        "status": _KEYWORD,
        "provider": _KEYWORD,
        "updated_at": _DATE,
        "email_hash": _KEYWORD,
        "response": _UNINDEXED,
    },
}
# The folded words `authstream search` matches (``consumers.profile.searchable``). Prefixes up to
# eight characters are indexed too, so "as you type" prefix queries stay single term lookups.
# Where the cluster has the analysis-common module, setup swaps in a folding analyzer
# (``consumers.store.folding``); the core distribution keeps ``standard``.
SEARCH_FIELD: dict[str, Any] = {
    "type": "text",
    "analyzer": "standard",
    "index_prefixes": {"min_chars": 2, "max_chars": 8},
}
# ECS names for the same facts, so one Kibana filter (``user.id: ...``) spans users and events.
ECS_USER_ALIASES: dict[str, Any] = {
    "properties": {
        "id": {"type": "alias", "path": "user_id"},
        "email": {"type": "alias", "path": "email"},
    }
}
# Enrichment providers whose findings are mapped (``consumers.enrich`` registers them).
ENRICHMENT_PROVIDERS = ("fullcontact",)

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
        "employment": {"properties": {"organization": _KEYWORD, "title": _KEYWORD}},
        "provenance": _UNINDEXED,
        "marketing_consent": _KEYWORD,
        "consent": {"properties": {"state": _KEYWORD, "source": _KEYWORD, "at": _DATE}},
        "first_seen": _DATE,
        "signed_up_at": _DATE,
        "last_login": _DATE,
        "last_seen": _DATE,
        "last_failed_login": _DATE,
        "logins_count": {"type": "long"},
        "returned": {"type": "boolean"},
        # Fixed names only: event types never become fields (a publisher cannot grow the mapping).
        "counters": {
            "dynamic": False,
            "properties": {
                name: {"type": "long"}
                for name in ("signups", "logins", "failed_logins", "logouts", "behaviors")
            },
        },
        "behaviors": {
            "type": "nested",
            "properties": {"action": _KEYWORD, "count": {"type": "long"}, "last_at": _DATE},
        },
        "identity_updated_at": _DATE,
        "updated_at": _DATE,
        "deleted_at": _DATE,
        "enrichment": {
            "dynamic": False,
            "properties": {provider: _FINDING for provider in ENRICHMENT_PROVIDERS},
        },
        "sentiment": {
            "properties": {
                "status": _KEYWORD,
                "updated_at": _DATE,
                "score": {"type": "float"},
                "label": _KEYWORD,
                "mentions": {"type": "integer"},
                # The sentiment stage's summary (consumers.stages.sentiment): what marketers filter
                # on is mapped; the evidence (the most negative posts) is kept for reading only.
                "min": {"type": "float"},
                "mean": {"type": "float"},
                "handle": _KEYWORD,
                "author_id": _KEYWORD,
                "looked_up_at": _DATE,
                "last_at": _DATE,
                "evidence": _UNINDEXED,
            }
        },
        "auth0": _UNINDEXED,
        "auth0_stamps": _UNINDEXED,
        "last_geo": _UNINDEXED,
        "seen_interests": _UNINDEXED,
        "search": SEARCH_FIELD,
        "user": ECS_USER_ALIASES,
        # segments: object, not nested, so Kibana's `segments.name: x` just works.
        "segments": {"properties": {"name": _KEYWORD, "entered_at": _DATE}},
        "segment_transitions": _UNINDEXED,
        "requested": _UNINDEXED,
        "visitors": _UNINDEXED,
        "version": {"type": "long"},
        "applied_events": {"type": "keyword", "index": False, "doc_values": False},
        "outbox": _UNINDEXED,
    },
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

ENRICHMENT_CACHE_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "provider": _KEYWORD,
        "email_hash": _KEYWORD,
        "status": _KEYWORD,
        "fetched_at": _DATE,
        "reason": _KEYWORD,
        "response": _UNINDEXED,
    },
}

AUDIT_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "at": _DATE,
        "action": _KEYWORD,
        "trigger": _KEYWORD,
        "user_id": _KEYWORD,
        "profile": {"type": "boolean"},
        "events": {"type": "long"},
        "enrichment": {"type": "long"},
        "queue_copies": {"type": "long"},
        "visitors": {"type": "long"},
    },
}

# Brand mentions, one document per post (``_id`` = the post id, written create-only).
MENTIONS_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "id": _KEYWORD,
        "handle": _KEYWORD,
        "author_id": _KEYWORD,
        "text": {"type": "text"},
        "created_at": _DATE,
        "url": {"type": "keyword", "index": False, "doc_values": False},
        "lang": _KEYWORD,
        "score": {"type": "float"},
        "label": _KEYWORD,
        "model": _KEYWORD,
        "source": _KEYWORD,
        "stored_at": _DATE,
    },
}

# Budgets, leases, checkpoints (``store.state``): read by id, never searched.
STATE_MAPPING: dict[str, Any] = {"dynamic": False, "properties": {}}

# Segment events delivered to destination webhooks (``stages.destinations``), by
# "<destination key>:<event id>": no personal data, only what was sent where and when.
DELIVERIES_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "destination": _KEYWORD,
        "segment": _KEYWORD,
        "event_id": _KEYWORD,
        "delivered_at": _DATE,
        "status": {"type": "integer"},
    },
}


# Anonymous visitors (``consumers.profile.visitors``), one document per anonymous id: read by id;
# who they turned out to be is mapped (erasure finds a user's visitors), their held events are not.
VISITORS_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "anonymous_id": _KEYWORD,
        "user_id": _KEYWORD,
        "identified_at": _DATE,
        "identified_by": _KEYWORD,
        "first_seen": _DATE,
        "last_seen": _DATE,
        "next_seq": {"type": "long"},
        "merged_through": {"type": "long"},
        "dropped": {"type": "long"},
        "pending": _UNINDEXED,
        "seen": {"type": "keyword", "index": False, "doc_values": False},
    },
}


def side_indices(names: Names) -> dict[str, dict[str, Any]]:
    """Plain indices beside the users index and the events stream: name → mapping."""
    return {
        names.enrichment_cache: ENRICHMENT_CACHE_MAPPING,
        names.mentions_index: MENTIONS_MAPPING,
        names.state_index: STATE_MAPPING,
        names.audit_index: AUDIT_MAPPING,
        names.deliveries_index: DELIVERIES_MAPPING,
        names.visitors_index: VISITORS_MAPPING,
    }


SHARED_SETTINGS = {
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
                "settings": SHARED_SETTINGS | {"refresh_interval": "1s"},
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
                "settings": SHARED_SETTINGS,
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
