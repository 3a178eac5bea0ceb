"""Redis erasure: the keys each collection's pattern gives for the identifier values are deleted or masked in
place (hash fields removed or rewritten, JSON members nulled), in MULTI/EXEC batches that keep the keys' TTLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores.base import StoreUnavailable
from services.common.stores.redis_store import BATCH_SIZE, PLACEHOLDER, RedisConnector
from services.common.stores.values import batched, identifier_values, occurred_at, searched_collections
from services.deletion.erasure.outcome import OutcomeTally, Settle, StoreOutcome, unsettled
from services.deletion.erasure.plan import CollectionStep, StorePlan
from services.deletion.erasure.strategies import masked_values

SCAN_COUNT = 1000
GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


@dataclass(frozen=True)
class _Write:
    key: str
    command: str  # del | hdel | hset | set
    fields: tuple[str, ...] = ()
    mapping: dict[str, str] | None = None
    text: str | None = None


class RedisEraser:
    def __init__(self, datamap: DataMap, store: Store, hmac_key: bytes) -> None:
        self.store = store
        self.hmac_key = hmac_key
        self.connector = RedisConnector(datamap, store)
        self.client = self.connector.client

    def erase(self, plan: StorePlan, settle: Settle = unsettled, dry_run: bool = False) -> StoreOutcome:
        tally = OutcomeTally(self.store.name)
        try:
            writes = [write for step in plan.steps for write in self._classify(step, plan.now, tally)]
            if dry_run:
                return tally.outcome()
            outcome = settle(tally.outcome())
            self._apply(writes)
            return outcome
        except redis.TimeoutError:
            raise StoreUnavailable(self.store.name, "timed out") from None
        except redis.ConnectionError as exc:
            raise StoreUnavailable(self.store.name, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}") \
                from None  # fmt: skip

    def identifier_values(self) -> Iterator[tuple[str, str]]:
        """(kind, value) named by every key of every pattern, found with SCAN (never KEYS)."""
        for collection in searched_collections(self.store):
            glob, parts = key_matcher(collection.key_pattern or "")
            for key in self.client.scan_iter(match=glob, count=SCAN_COUNT):
                found = parts.fullmatch(key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key))
                for kind, value in zip(collection.key_kinds(), found.groups() if found else (), strict=False):
                    yield from ((kind, text) for text in identifier_values(kind, value))

    def purge(self) -> None:
        """Nothing to do here: Redis frees a deleted value at once (its RDB or AOF files: docs/deletion.md)."""

    def close(self) -> None:
        self.connector.close()

    def _classify(self, step: CollectionStep, now: datetime, tally: OutcomeTally) -> Iterator[_Write]:
        collection = step.collection
        for keys in batched(step.keys, BATCH_SIZE):
            pipeline = self.client.pipeline(transaction=False)
            fetch = pipeline.hgetall if collection.value_type == "hash" else pipeline.get
            for key in keys:
                fetch(key)
            for key, reply in zip(keys, pipeline.execute(raise_on_error=False), strict=True):
                raw = self.connector._decoded(collection, reply)
                if raw is None:
                    continue
                action, until = step.disposition(occurred_at(collection, raw), now)
                tally.add(collection.name, action)
                if action == "retained" and step.retention:
                    tally.exempted(collection.name, step.retention.exemption, step.retention.statute, until)
                if action == "deleted":
                    yield _Write(key, "del")
                else:
                    yield from self._masked(collection, step, key, raw, reply)

    def _masked(self, collection: Collection, step: CollectionStep, key: str, raw: dict[str, Any],
                reply: Any) -> Iterator[_Write]:  # fmt: skip
        new = masked_values(step.masks, raw, self.hmac_key)
        new = {name: value for name, value in new.items() if value != raw.get(name)}
        if not new:
            return
        if collection.value_type == "hash":
            removed = tuple(name for name, value in new.items() if value is None)
            kept = {name: str(value) for name, value in new.items() if value is not None}
            if removed:
                yield _Write(key, "hdel", fields=removed)
            if kept:
                yield _Write(key, "hset", mapping=kept)
        elif collection.value_type == "json" and isinstance(document := _json_object(reply), dict):
            yield _Write(key, "set", text=json.dumps({**document, **new}))
        elif new.get("value") is None:
            yield _Write(key, "del")  # a plain string whose only field is nulled is no value at all
        else:
            yield _Write(key, "set", text=str(new["value"]))

    def _apply(self, writes: list[_Write]) -> None:
        for batch in batched(writes, BATCH_SIZE):
            pipeline = self.client.pipeline(transaction=True)
            for write in batch:
                if write.command == "del":
                    pipeline.delete(write.key)
                elif write.command == "hdel":
                    pipeline.hdel(write.key, *write.fields)
                elif write.command == "hset":
                    pipeline.hset(write.key, mapping=write.mapping)  # type: ignore[arg-type]
                else:
                    pipeline.set(write.key, write.text or "", keepttl=True)
            pipeline.execute()


def key_matcher(pattern: str) -> tuple[str, re.Pattern[str]]:
    """The SCAN glob of a key pattern (placeholders → *) and a regular expression capturing each placeholder."""
    pieces = PLACEHOLDER.split(pattern)  # literal, kind, literal, kind, …, literal
    literals, glob_literals = pieces[::2], [GLOB_SPECIAL.sub(r"\\\1", text) for text in pieces[::2]]
    return "*".join(glob_literals), re.compile("(.+?)".join(re.escape(text) for text in literals))


def _json_object(reply: Any) -> Any:
    try:
        return json.loads(reply)
    except (TypeError, ValueError):
        return None
