"""Redis erasure: the keys each collection's pattern gives for the identifier values are deleted or masked in
place (hash fields removed or rewritten, JSON members nulled); the store's adapter reads them and applies the writes
in MULTI/EXEC batches that keep the keys' TTLs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores.redis_store import KeyWrite, RedisConnector
from services.common.stores.values import occurred_at
from services.deletion.erasure.outcome import OutcomeTally, Settle, StoreOutcome, unsettled
from services.deletion.erasure.plan import CollectionStep, StorePlan
from services.deletion.erasure.strategies import masked_values


class RedisEraser:
    def __init__(self, datamap: DataMap, store: Store, hmac_key: bytes) -> None:
        self.store = store
        self.hmac_key = hmac_key
        self.connector = RedisConnector(datamap, store)

    def erase(self, plan: StorePlan, settle: Settle = unsettled, dry_run: bool = False) -> StoreOutcome:
        tally = OutcomeTally(self.store.name)
        with self.connector.failures_as_unavailable():
            writes = [write for step in plan.steps for write in self._classify(step, plan.now, tally)]
            if dry_run:
                return tally.outcome()
            outcome = settle(tally.outcome())
            self.connector.erase(writes)
            return outcome

    def identifier_values(self) -> Iterator[tuple[str, str]]:
        """(kind, value) named by every key of every pattern, found with SCAN (never KEYS)."""
        return self.connector.identifier_values()

    def purge(self) -> None:
        """Nothing to do here: Redis frees a deleted value at once (its RDB or AOF files: docs/deletion.md)."""

    def close(self) -> None:
        self.connector.close()

    def _classify(self, step: CollectionStep, now: datetime, tally: OutcomeTally) -> Iterator[KeyWrite]:
        collection = step.collection
        for key, raw, reply in self.connector.fetch(collection, step.keys):
            action, until = step.disposition(occurred_at(collection, raw), now)
            tally.add(collection.name, action)
            if action == "retained" and step.retention:
                tally.exempted(collection.name, step.retention.exemption, step.retention.statute, until)
            if action == "deleted":
                yield KeyWrite(key, "del")
            else:
                yield from self._masked(collection, step, key, raw, reply)

    def _masked(self, collection: Collection, step: CollectionStep, key: str, raw: dict[str, Any],
                reply: Any) -> Iterator[KeyWrite]:  # fmt: skip
        new = masked_values(step.masks, raw, self.hmac_key)
        new = {name: value for name, value in new.items() if value != raw.get(name)}
        if not new:
            return
        if collection.value_type == "hash":
            removed = tuple(name for name, value in new.items() if value is None)
            kept = {name: str(value) for name, value in new.items() if value is not None}
            if removed:
                yield KeyWrite(key, "hdel", fields=removed)
            if kept:
                yield KeyWrite(key, "hset", mapping=kept)
        elif collection.value_type == "json" and isinstance(document := _json_object(reply), dict):
            yield KeyWrite(key, "set", text=json.dumps({**document, **new}))
        elif new.get("value") is None:
            yield KeyWrite(key, "del")  # a plain string whose only field is nulled is no value at all
        else:
            yield KeyWrite(key, "set", text=str(new["value"]))


def _json_object(reply: Any) -> Any:
    try:
        return json.loads(reply)
    except (TypeError, ValueError):
        return None
