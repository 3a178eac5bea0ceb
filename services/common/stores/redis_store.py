"""Redis store connector: builds each collection's keys from its key pattern and the known identifier values,
and fetches them in pipelines (HGETALL for hashes, GET for JSON and plain strings). Never scans the keyspace.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores.base import FoundRecord, Identifiers, StoreUnavailable
from services.common.stores.values import batched, occurred_at, record_values, searched_collections, short_hash

log = logging.getLogger(__name__)
BATCH_SIZE = 500
MAX_KEYS_PER_PATTERN = 1000
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
UNUSABLE_IN_KEY = re.compile(r"[*?\[\]\r\n]")


class RedisConnector:
    def __init__(self, datamap: DataMap, store: Store) -> None:
        if not store.url:
            raise ValueError(f"store {store.name}: a redis store needs `url`")
        self.datamap = datamap
        self.store = store
        self.client = redis.Redis.from_url(
            store.url,
            socket_timeout=store.timeout_seconds,
            socket_connect_timeout=store.timeout_seconds,
            retry=Retry(NoBackoff(), 1),  # one retry covers a pooled connection the server closed meanwhile
        )

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        try:
            return [record for collection in searched_collections(self.store)
                    for record in self._search_collection(collection, identifiers)]  # fmt: skip
        except redis.TimeoutError:
            raise StoreUnavailable(self.store.name, "timed out") from None
        except redis.ConnectionError as exc:
            raise StoreUnavailable(self.store.name, f"{type(exc).__name__}: {_first_line(exc)}") from None

    def close(self) -> None:
        self.client.close()

    def _search_collection(self, collection: Collection, identifiers: Identifiers) -> Iterator[FoundRecord]:
        for keys in batched(pattern_keys(collection, identifiers), BATCH_SIZE):
            pipeline = self.client.pipeline(transaction=False)
            fetch = pipeline.hgetall if collection.value_type == "hash" else pipeline.get
            for key in keys:
                fetch(key)
            for key, reply in zip(keys, pipeline.execute(raise_on_error=False), strict=True):
                raw = self._decoded(collection, reply)
                if raw is not None:
                    yield FoundRecord(self.store.name, collection.name, key_locator(collection, key),
                                      record_values(collection, raw), occurred_at(collection, raw))  # fmt: skip

    def _decoded(self, collection: Collection, reply: Any) -> dict[str, Any] | None:
        """The key's content as field → value; None when the key does not exist."""
        if isinstance(reply, redis.ResponseError):
            if str(reply).startswith("WRONGTYPE"):
                # The key exists with another type than the data map says; the pattern names it, the value not.
                where = {"store": self.store.name, "key_pattern": collection.key_pattern}
                log.warning("redis key of an unexpected type", extra=where)
                return None
            raise StoreUnavailable(self.store.name, f"redis error: {_first_line(reply).split(' ')[0]}")
        if not reply:
            return None
        if isinstance(reply, dict):
            return {name: value for key, item in reply.items()
                    if (name := _text(key)) is not None and (value := _text(item)) is not None}  # fmt: skip
        return decoded_value(collection, reply)


def decoded_value(collection: Collection, reply: bytes) -> dict[str, Any]:
    """A GET reply as fields: a JSON object's members for value_type json, else the text as field `value`."""
    text = _text(reply)
    if text is None:
        return {}
    if collection.value_type == "json":
        try:
            parsed = json.loads(text)
        except ValueError:
            return {"value": text}
        return parsed if isinstance(parsed, dict) else {"value": parsed}
    return {"value": text}


def pattern_keys(collection: Collection, identifiers: Identifiers, cap: int = MAX_KEYS_PER_PATTERN) -> list[str]:
    """Keys of the pattern for every combination of known values (at most `cap`); none unless all kinds have one."""
    pattern = collection.key_pattern or ""
    kinds = list(dict.fromkeys(collection.key_kinds()))
    choices = [sorted(value for value in identifiers.get(kind, ()) if usable_in_key(value)) for kind in kinds]
    if not kinds or not all(choices):
        return []
    keys = []
    for combination in itertools.islice(itertools.product(*choices), cap):
        keys.append(_filled(pattern, dict(zip(kinds, combination, strict=True))))
    return keys


def _filled(pattern: str, chosen: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: chosen.get(match.group(1), match.group(0)), pattern)


def usable_in_key(value: str) -> bool:
    """Values with glob characters or line breaks cannot be in a key we look up; they are skipped."""
    return bool(value) and not UNUSABLE_IN_KEY.search(value)


def key_locator(collection: Collection, key: str) -> str:
    """The pattern with its placeholders (never the value) and a short hash of the actual key."""
    return f"{collection.key_pattern}#{short_hash(key)}"


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None  # binary content is not something a record shows
    return str(value) if value is not None else None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:160]
