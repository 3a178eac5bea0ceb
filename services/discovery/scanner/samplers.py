"""Read a bounded sample of each store: every SQL table's first rows, Redis keys by SCAN, the first log lines.

A sampler decides what to read and groups it into collections; the store adapters (services/common/stores) do the
reading. It yields batches of records, each record a list of (field path, value); it reads, never writes, and
raises StoreUnreachable when the store does not answer at all.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import redis
from sqlalchemy.exc import SQLAlchemyError

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores.base import StoreUnavailable
from services.common.stores.jsonl import log_files, open_text
from services.common.stores.redis_store import RedisConnector, SampledKey
from services.common.stores.sql import SqlConnector
from services.common.stores.sql_connect import NoSuchDatabase
from services.common.stores.sql_sample import Sampling, first_line
from services.discovery.scanner.detectors import detect
from services.discovery.scanner.indexes import index_leads

Record = list[tuple[str, Any]]
PLACEHOLDER = re.compile(r"\{[a-z][a-z0-9_]*\}")
REDIS_BATCH = 500
LIST_ITEMS_PER_VALUE = 20
KEY_FIELD = "(key)"  # the part of an unmapped key after its prefix: keys like otp:+14155550134 hold PI themselves
MEMBERS_FIELD = "(members)"


class StoreUnreachable(Exception):
    def __init__(self, store: str, reason: str) -> None:
        self.store = store
        self.reason = reason
        super().__init__(f"store {store} cannot be reached: {reason}")


@dataclass(frozen=True)
class Batch:
    collection: str
    records: Sequence[Record] = ()
    fields: tuple[str, ...] = ()  # known even when no value was sampled (reflected columns)
    skipped: tuple[str, ...] = ()  # binary columns, not sampled
    primary_key: tuple[str, ...] = ()
    value_types: tuple[str, ...] = ()  # redis: one per record
    problem: str | None = None  # the collection could not be read
    note: str | None = None
    steps: int = 0  # progress units this batch completes
    index_leads: frozenset[str] | None = None  # sql: the first column or lower(column) of every index; None unknown
    case_insensitive: frozenset[str] = frozenset()  # sql: columns whose collation ignores case (MySQL/MariaDB)


class Sampler(Protocol):
    unit: str

    def plan(self) -> int | None:
        """Connect and count the progress units ahead (tables, keys, collections); StoreUnreachable if it cannot."""

    def batches(self) -> Iterator[Batch]: ...

    def close(self) -> None: ...


def open_sampler(datamap: DataMap, store: Store, sample_rows: int, redis_keys: int, log_lines: int) -> Sampler:
    if store.kind == "sql":
        return SqlSampler(datamap, store, sample_rows)
    if store.kind == "redis":
        return RedisSampler(datamap, store, redis_keys)
    if store.kind == "jsonl":
        return JsonLinesSampler(store, log_lines)
    raise ValueError(f"store {store.name}: kind {store.kind} cannot be sampled")


class SqlSampler:
    unit = "tables"

    def __init__(self, datamap: DataMap, store: Store, limit: int) -> None:
        self.datamap = datamap
        self.store = store
        self.limit = limit
        self.connector: SqlConnector | None = None
        self.sampling: Sampling | None = None

    def plan(self) -> int:
        try:
            self.connector = SqlConnector(self.datamap, self.store, must_exist=True)
        except NoSuchDatabase as exc:
            raise StoreUnreachable(self.store.name, str(exc)) from None
        except SQLAlchemyError as exc:  # a URL the dialect refuses
            raise StoreUnreachable(self.store.name, first_line(exc)) from None
        self.sampling = self.connector.sample(self.limit, index_leads)
        try:
            return len(self.sampling.tables())
        except StoreUnavailable as exc:
            raise StoreUnreachable(self.store.name, exc.reason) from None

    def batches(self) -> Iterator[Batch]:
        assert self.sampling is not None, "plan() first"
        for table in self.sampling.samples():
            if table.problem is not None:
                yield Batch(table.name, problem=table.problem, steps=1)
                continue
            yield Batch(table.name, table.records, table.columns, table.skipped, table.primary_key, steps=1,
                        index_leads=table.index_leads, case_insensitive=table.case_insensitive)  # fmt: skip

    def close(self) -> None:
        if self.connector is not None:
            self.connector.close()


class RedisSampler:
    unit = "keys"

    def __init__(self, datamap: DataMap, store: Store, limit: int) -> None:
        self.store = store
        self.limit = limit
        self.patterns = [(collection, _key_regex(collection)) for collection in store.collections]
        self.connector = RedisConnector(datamap, store)

    def plan(self) -> int:
        try:
            self.connector.ping()
        except redis.RedisError as exc:
            raise StoreUnreachable(self.store.name, _first_line(exc)) from None
        return self.limit

    def batches(self) -> Iterator[Batch]:
        try:
            for page in self.connector.sample(self.limit, REDIS_BATCH):
                yield from self._grouped(page)
        except redis.RedisError as exc:
            raise StoreUnreachable(self.store.name, _first_line(exc)) from None

    def _grouped(self, page: list[SampledKey]) -> Iterator[Batch]:
        grouped: dict[str, list[tuple[Record, str]]] = {}
        for sampled in page:
            name, remainder = self._collection_of(_text(sampled.key) or "")
            record = _redis_record(sampled.value_type, sampled.reply)
            if remainder is not None:
                record.append((KEY_FIELD, remainder))
            grouped.setdefault(name, []).append((record, sampled.value_type))
        for index, (name, entries) in enumerate(grouped.items()):
            yield Batch(name, [record for record, _ in entries], value_types=tuple(t for _, t in entries),
                        steps=len(page) if index == 0 else 0)  # fmt: skip

    def _collection_of(self, key: str) -> tuple[str, str | None]:
        """The data-map collection whose key pattern matches; else `prefix:*` and the rest of the key."""
        for collection, pattern in self.patterns:
            if pattern.fullmatch(key):
                return collection.name, None
        prefix, separator, rest = key.partition(":")
        if not separator or detect(prefix) is not None:
            return "*", key
        return f"{prefix}:*", rest

    def close(self) -> None:
        self.connector.close()


def _key_regex(collection: Collection) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(collection.key_pattern or "")
    return re.compile("(.+?)".join(re.escape(part) for part in parts))


def _redis_record(value_type: str, reply: Any) -> Record:
    if isinstance(reply, Exception) or reply is None:
        return []
    if value_type == "hash" and isinstance(reply, dict):
        return [(path, value) for raw, item in reply.items() if (name := _text(raw)) is not None
                for path, value in _value_fields(name, _text(item))]  # fmt: skip
    if value_type in ("string", "ReJSON-RL"):
        return list(_value_fields("value", _text(reply), top_level=True))
    if value_type in ("list", "set", "zset") and isinstance(reply, list):
        return [(MEMBERS_FIELD, _text(member)) for member in reply]
    return []


def _value_fields(name: str, text: str | None, top_level: bool = False) -> Iterator[tuple[str, Any]]:
    """A JSON object's members as fields (nested ones dotted); at the top of a string value, without a prefix."""
    if text is None:
        return
    parsed = _json_object(text)
    if isinstance(parsed, dict):
        yield from flatten(parsed, "" if top_level else name)
    else:
        yield name, text


def _json_object(text: str) -> Any:
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


class JsonLinesSampler:
    unit = "collections"

    def __init__(self, store: Store, limit: int) -> None:
        self.store = store
        self.limit = limit

    def plan(self) -> int:
        return len(self.store.collections)

    def batches(self) -> Iterator[Batch]:
        for collection in self.store.collections:
            files = log_files(collection.path or "", current_first=True)
            if not files:
                yield Batch(collection.name, note=f"no file matches {collection.path}", steps=1)
                continue
            try:
                records, malformed = self._read(files)
            except OSError as exc:
                yield Batch(collection.name, problem=f"cannot read: {exc.strerror or type(exc).__name__}", steps=1)
                continue
            note = f"{malformed} line(s) not JSON objects, skipped" if malformed else None
            yield Batch(collection.name, records, note=note, steps=1)

    def _read(self, files: list[Path]) -> tuple[list[Record], int]:
        records: list[Record] = []
        malformed = 0
        for path in files:
            with open_text(path) as lines:
                for line in itertools.islice(lines, self.limit - len(records) - malformed):
                    if not line.strip():
                        continue  # a blank line (an erased one is overwritten with spaces) is not a record
                    entry = _json_object(line.strip())
                    if isinstance(entry, dict):
                        records.append(list(flatten(entry)))
                    else:
                        malformed += 1
            if len(records) + malformed >= self.limit:
                break
        return records, malformed

    def close(self) -> None:
        """Files are closed after each read."""


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested objects as dotted paths (`user.email`); list items under `name[]`, at most 20 per list."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for item in value[:LIST_ITEMS_PER_VALUE]:
            yield from flatten(item, f"{prefix}[]")
    else:
        yield prefix or "value", value


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None  # binary content
    return None if value is None else str(value)


def _first_line(exc: BaseException) -> str:
    """The first line of the error, which names the cause without the statement or its parameters."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:200]
