"""Small operational records in Elasticsearch, shared by every process: call budgets, leases
(one caller at a time for a key), checkpoints.

Elasticsearch has no counters or locks without scripting (which the core distribution lacks), so
these use optimistic concurrency: read, then write only if nobody wrote since (``if_seq_no``);
on a conflict, read again. They are for rates of a few per second, not for the event stream.
"""

from datetime import datetime, timedelta
from typing import Any

from elasticsearch import AsyncElasticsearch

from consumers.core.names import Names

CONFLICT_ROUNDS = 20


class StateStore:
    def __init__(self, es: AsyncElasticsearch, names: Names) -> None:
        self.es = es
        # Made once: each es.options() builds a client, ~40 sub-clients in reference cycles.
        self.missing_ok = es.options(ignore_status=404)
        self.conflict_ok = es.options(ignore_status=409)
        self.index = names.state_index

    async def get(self, key: str) -> dict[str, Any] | None:
        found = await self.missing_ok.get(index=self.index, id=key)
        return dict(found["_source"]) if found.get("found") else None

    async def put(self, key: str, document: dict[str, Any]) -> None:
        await self.es.index(index=self.index, id=key, document=document, refresh=False)

    async def _read(self, key: str) -> tuple[dict[str, Any] | None, dict[str, int]]:
        found = await self.missing_ok.get(index=self.index, id=key)
        if not found.get("found"):
            return None, {}
        versions = {"if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"]}
        return dict(found["_source"]), versions

    async def _write(self, key: str, document: dict[str, Any], versions: dict[str, int]) -> bool:
        """False when somebody else wrote first (or created the record, when ``versions`` is
        empty: it did not exist when we read it)."""
        client = self.conflict_ok
        if versions:
            answer = await client.index(
                index=self.index,
                id=key,
                document=document,
                if_seq_no=versions["if_seq_no"],
                if_primary_term=versions["if_primary_term"],
            )
        else:
            answer = await client.index(
                index=self.index, id=key, document=document, op_type="create"
            )
        return answer.meta.status != 409

    async def take(self, key: str, limit: int, extra: dict[str, Any]) -> int | None:
        """Add one to the counter ``key`` unless it reached ``limit``; the new count, or None."""
        for _ in range(CONFLICT_ROUNDS):
            current, versions = await self._read(key)
            used = int((current or {}).get("used", 0))
            if used >= limit:
                return None
            if await self._write(key, extra | {"used": used + 1, "limit": limit}, versions):
                return used + 1
        raise RuntimeError(f"the counter {key} kept changing under us")

    async def take_up_to(
        self, key: str, limit: int, wanted: int, at_least: int, extra: dict[str, Any]
    ) -> tuple[int, int]:
        """Add as much of ``wanted`` to the counter ``key`` as ``limit`` allows, but nothing
        unless at least ``at_least`` fits. Returns what was added (0, or ``at_least`` to
        ``wanted``) and the count now used."""
        for _ in range(CONFLICT_ROUNDS):
            current, versions = await self._read(key)
            used = int((current or {}).get("used", 0))
            granted = min(wanted, limit - used)
            if granted < at_least:
                return 0, used
            if await self._write(key, extra | {"used": used + granted, "limit": limit}, versions):
                return granted, used + granted
        raise RuntimeError(f"the counter {key} kept changing under us")

    async def give_back(self, key: str, amount: int) -> int:
        """Take ``amount`` off the counter ``key`` (not below 0): a reservation not used up.
        Returns the count left used."""
        for _ in range(CONFLICT_ROUNDS):
            current, versions = await self._read(key)
            if current is None:
                return 0
            used = max(0, int(current.get("used", 0)) - amount)
            if await self._write(key, current | {"used": used}, versions):
                return used
        raise RuntimeError(f"the counter {key} kept changing under us")

    async def lease(self, key: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Hold ``key`` until ``now + ttl`` unless someone else holds it; expired leases go."""
        for _ in range(CONFLICT_ROUNDS):
            current, versions = await self._read(key)
            if current is not None and current.get("holder") != holder:
                until = datetime.fromisoformat(str(current.get("until")))
                if until > now:
                    return False
            document = {"holder": holder, "until": (now + ttl).isoformat()}
            if await self._write(key, document, versions):
                return True
        return False

    async def release(self, key: str) -> None:
        await self.missing_ok.delete(index=self.index, id=key)
