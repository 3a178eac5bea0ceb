"""The Redis store adapter: one client per store, and the operations services ask of it. Read (the walk) builds
each collection's keys from its key pattern and the known identifier values and fetches them in pipelines (HGETALL
for hashes, GET for JSON and plain strings), never scanning the keyspace; erase applies key writes in MULTI/EXEC
batches that keep TTLs; sample (the PI scanner) and the identifier scan of a restore walk the keyspace with SCAN.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores.base import FoundRecord, Identifiers, StoreUnavailable
from services.common.stores.values import (
    batched,
    identifier_values,
    occurred_at,
    record_values,
    searched_collections,
    short_hash,
)

log = logging.getLogger(__name__)
BATCH_SIZE = 500
MAX_KEYS_PER_PATTERN = 1000
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
UNUSABLE_IN_KEY = re.compile(r"[*?\[\]\r\n]")
GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
SCAN_COUNT = 1000
MEMBERS_PER_KEY = 50
SAMPLE_READS: dict[str, tuple[str | int, ...]] = {
    "hash": ("hgetall",),
    "string": ("get",),
    "list": ("lrange", 0, MEMBERS_PER_KEY - 1),
    "set": ("srandmember", MEMBERS_PER_KEY),
    "zset": ("zrange", 0, MEMBERS_PER_KEY - 1),
}


@dataclass(frozen=True)
class KeyWrite:
    """One change to a key: del, hdel (fields), hset (mapping) or set (text, keeping the TTL)."""

    key: str
    command: str
    fields: tuple[str, ...] = ()
    mapping: dict[str, str] | None = None
    text: str | None = None


@dataclass(frozen=True)
class SampledKey:
    key: bytes
    value_type: str  # as TYPE names it: hash, string, list, set, zset, ReJSON-RL…
    reply: Any  # its content (at most MEMBERS_PER_KEY members), an error, or None


@contextlib.contextmanager
def unavailable_on_failure(store: str) -> Iterator[None]:
    try:
        yield
    except redis.TimeoutError:
        raise StoreUnavailable(store, "timed out") from None
    except redis.ConnectionError as exc:
        raise StoreUnavailable(store, f"{type(exc).__name__}: {_first_line(exc)}") from None


def redis_client(store: Store) -> redis.Redis:
    """The store's client, with its timeouts; nothing connects until the first command."""
    if not store.url:
        raise ValueError(f"store {store.name}: a redis store needs `url`")
    return redis.Redis.from_url(
        store.url,
        socket_timeout=store.timeout_seconds,
        socket_connect_timeout=store.timeout_seconds,
        retry=Retry(NoBackoff(), 1),  # one retry covers a pooled connection the server closed meanwhile
    )


class RedisConnector:
    def __init__(self, datamap: DataMap, store: Store) -> None:
        self.datamap = datamap
        self.store = store
        self.client = redis_client(store)

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        with self.failures_as_unavailable():
            return [record for collection in searched_collections(self.store)
                    for record in self._search_collection(collection, identifiers)]  # fmt: skip

    def failures_as_unavailable(self) -> contextlib.AbstractContextManager[None]:
        """A timeout or a refused connection becomes StoreUnavailable, with a reason safe to show."""
        return unavailable_on_failure(self.store.name)

    def fetch(self, collection: Collection, keys: Sequence[str]) -> Iterator[tuple[str, dict[str, Any], Any]]:
        """(key, its fields, the raw reply) of each key that exists, read in pipelines of BATCH_SIZE."""
        for batch in batched(keys, BATCH_SIZE):
            pipeline = self.client.pipeline(transaction=False)
            read = pipeline.hgetall if collection.value_type == "hash" else pipeline.get
            for key in batch:
                read(key)
            for key, reply in zip(batch, pipeline.execute(raise_on_error=False), strict=True):
                raw = self.decoded(collection, reply)
                if raw is not None:
                    yield key, raw, reply

    def erase(self, writes: Sequence[KeyWrite]) -> None:
        """Apply the writes in MULTI/EXEC batches; a rewritten value keeps its key's TTL."""
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

    def identifier_values(self) -> Iterator[tuple[str, str]]:
        """(kind, value) named by every key of every pattern, found with SCAN (never KEYS)."""
        for collection in searched_collections(self.store):
            glob, parts = key_matcher(collection.key_pattern or "")
            for key in self.client.scan_iter(match=glob, count=SCAN_COUNT):
                found = parts.fullmatch(key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key))
                for kind, value in zip(collection.key_kinds(), found.groups() if found else (), strict=False):
                    yield from ((kind, text) for text in identifier_values(kind, value))

    def ping(self) -> None:
        self.client.ping()

    def sample(self, limit: int, page: int = BATCH_SIZE) -> Iterator[list[SampledKey]]:
        """Up to `limit` keys of the whole keyspace by SCAN, a page at a time, each with its type and content."""
        seen: set[bytes] = set()
        for scanned in _pages(self.client.scan_iter(count=page), page):
            keys = [key for key in dict.fromkeys(scanned) if key not in seen][: limit - len(seen)]
            seen.update(keys)
            yield self._sampled(keys)
            if len(seen) >= limit:
                return

    def close(self) -> None:
        self.client.close()

    def _sampled(self, keys: list[bytes]) -> list[SampledKey]:
        types_pipe = self.client.pipeline(transaction=False)
        for key in keys:
            types_pipe.type(key)
        types = [_text(reply) or "none" for reply in types_pipe.execute()]
        values_pipe = self.client.pipeline(transaction=False)
        for key, value_type in zip(keys, types, strict=True):
            _queue_read(values_pipe, key, value_type)
        replies = values_pipe.execute(raise_on_error=False)
        return [SampledKey(*item) for item in zip(keys, types, replies, strict=True)]

    def _search_collection(self, collection: Collection, identifiers: Identifiers) -> Iterator[FoundRecord]:
        for key, raw, _reply in self.fetch(collection, pattern_keys(collection, identifiers)):
            yield FoundRecord(self.store.name, collection.name, key_locator(collection, key),
                              record_values(collection, raw), occurred_at(collection, raw))  # fmt: skip

    def decoded(self, collection: Collection, reply: Any) -> dict[str, Any] | None:
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


def key_matcher(pattern: str) -> tuple[str, re.Pattern[str]]:
    """The SCAN glob of a key pattern (placeholders → *) and a regular expression capturing each placeholder."""
    pieces = PLACEHOLDER.split(pattern)  # literal, kind, literal, kind, …, literal
    literals, glob_literals = pieces[::2], [GLOB_SPECIAL.sub(r"\\\1", text) for text in pieces[::2]]
    return "*".join(glob_literals), re.compile("(.+?)".join(re.escape(text) for text in literals))


def _queue_read(pipe: Any, key: bytes, value_type: str) -> None:
    """One read per key, so replies line up with keys; EXISTS stands in for types that are not sampled."""
    if value_type == "ReJSON-RL":
        pipe.execute_command("JSON.GET", key)
        return
    method, *arguments = SAMPLE_READS.get(value_type, ("exists",))
    getattr(pipe, str(method))(key, *arguments)


def _pages(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None  # binary content is not something a record shows
    return str(value) if value is not None else None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:160]
