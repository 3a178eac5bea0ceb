"""Read a bounded sample of each store: every SQL table's first rows, Redis keys by SCAN, the first log lines.

A sampler yields batches of records, each record a list of (field path, value); it reads, never writes, and
raises StoreUnreachable when the store does not answer at all.
"""

from __future__ import annotations

import glob
import gzip
import itertools
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import redis
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from services.common.datamap.model import Collection, Store
from services.common.stores.sql import DEFAULT_DRIVERS, case_insensitive_columns
from services.discovery.scanner.detectors import detect
from services.discovery.scanner.indexes import index_leads

Record = list[tuple[str, Any]]
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast"})
ROTATED_SUFFIX = re.compile(r"\.(?:\d+(?:\.gz)?|gz)$")
PLACEHOLDER = re.compile(r"\{[a-z][a-z0-9_]*\}")
REDIS_BATCH = 500
MEMBERS_PER_KEY = 50
LIST_ITEMS_PER_VALUE = 20
KEY_FIELD = "(key)"  # the part of an unmapped key after its prefix: keys like otp:+14155550134 hold PI themselves
MEMBERS_FIELD = "(members)"
REDIS_READS: dict[str, tuple[str | int, ...]] = {
    "hash": ("hgetall",),
    "string": ("get",),
    "list": ("lrange", 0, MEMBERS_PER_KEY - 1),
    "set": ("srandmember", MEMBERS_PER_KEY),
    "zset": ("zrange", 0, MEMBERS_PER_KEY - 1),
}


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


def open_sampler(store: Store, sample_rows: int, redis_keys: int, log_lines: int) -> Sampler:
    if store.kind == "sql":
        return SqlSampler(store, sample_rows)
    if store.kind == "redis":
        return RedisSampler(store, redis_keys)
    if store.kind == "jsonl":
        return JsonLinesSampler(store, log_lines)
    raise ValueError(f"store {store.name}: kind {store.kind} cannot be sampled")


class SqlSampler:
    unit = "tables"

    def __init__(self, store: Store, limit: int) -> None:
        self.store = store
        self.limit = limit
        self.tables: list[tuple[str | None, str]] = []
        self.engine: sa.Engine | None = None

    def plan(self) -> int:
        try:
            self.engine = _sql_engine(self.store)
            inspector = sa.inspect(self.engine)
            schemas = _schemas(inspector, self.engine.dialect.name)
            self.tables = [(schema, table) for schema in schemas for table in inspector.get_table_names(schema)]
        except SQLAlchemyError as exc:
            raise StoreUnreachable(self.store.name, _first_line(exc)) from None
        return len(self.tables)

    def batches(self) -> Iterator[Batch]:
        assert self.engine is not None, "plan() first"
        inspector = sa.inspect(self.engine)
        for schema, table in self.tables:
            name = f"{schema}.{table}" if schema else table
            try:
                yield self._sample(inspector, schema, table, name)
            except SQLAlchemyError as exc:
                yield Batch(name, problem=f"cannot read: {_first_line(exc)}", steps=1)

    def _sample(self, inspector: sa.Inspector, schema: str | None, table: str, name: str) -> Batch:
        columns = inspector.get_columns(table, schema)
        readable = tuple(column["name"] for column in columns if not _binary(column["type"]))
        skipped = tuple(column["name"] for column in columns if _binary(column["type"]))
        primary_key = tuple(inspector.get_pk_constraint(table, schema).get("constrained_columns") or ())
        records: list[Record] = []
        assert self.engine is not None
        with self.engine.connect() as connection:
            if readable:
                query = sa.table(table, *(sa.column(c) for c in readable), schema=schema).select().limit(self.limit)
                records = [list(zip(readable, row, strict=True)) for row in connection.execute(query)]
            leads = index_leads(inspector, connection, schema, table)
            folded = case_insensitive_columns(connection, name)
        return Batch(name, records, readable, skipped, primary_key, steps=1, index_leads=leads,
                     case_insensitive=folded)  # fmt: skip

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def _sql_engine(store: Store) -> sa.Engine:
    url = make_url(store.url or "")
    if url.get_backend_name() == "sqlite":
        return _sqlite_read_only(store, url)
    url = url.set(drivername=DEFAULT_DRIVERS.get(url.drivername, url.drivername))
    timeout = {"connect_timeout": max(1, int(store.timeout_seconds))}
    connect_args = timeout if url.get_backend_name() in ("postgresql", "mysql", "mariadb") else {}
    return sa.create_engine(url, hide_parameters=True, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_read_only(store: Store, url: URL) -> sa.Engine:
    """Opened read-only: a wrong path must not create an empty database that then scans clean."""
    if not url.database or url.database == ":memory:":
        return sa.create_engine("sqlite://")
    path = Path(url.database)
    if not path.is_file():
        raise StoreUnreachable(store.name, f"no SQLite database at {path}")
    uri = f"{path.resolve().as_uri().replace('file://', 'file:', 1)}?mode=ro"
    return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))


def _schemas(inspector: sa.Inspector, dialect: str) -> list[str | None]:
    """The default schema, and on PostgreSQL every other non-system schema too."""
    if dialect != "postgresql":
        return [None]
    default = inspector.default_schema_name
    others = [s for s in inspector.get_schema_names() if s != default and s not in SYSTEM_SCHEMAS
              and not s.startswith("pg_temp") and not s.startswith("pg_toast")]  # fmt: skip
    return [None, *others]


def _binary(column_type: Any) -> bool:
    return isinstance(column_type, sa.LargeBinary | sa.BINARY | sa.VARBINARY)


class RedisSampler:
    unit = "keys"

    def __init__(self, store: Store, limit: int) -> None:
        self.store = store
        self.limit = limit
        self.patterns = [(collection, _key_regex(collection)) for collection in store.collections]
        self.client = redis.Redis.from_url(store.url or "", socket_timeout=store.timeout_seconds,
                                           socket_connect_timeout=store.timeout_seconds)  # fmt: skip

    def plan(self) -> int:
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise StoreUnreachable(self.store.name, _first_line(exc)) from None
        return self.limit

    def batches(self) -> Iterator[Batch]:
        seen: set[bytes] = set()
        try:
            for page in _batched(self.client.scan_iter(count=REDIS_BATCH), REDIS_BATCH):
                keys = [key for key in dict.fromkeys(page) if key not in seen][: self.limit - len(seen)]
                seen.update(keys)
                yield from self._sample(keys)
                if len(seen) >= self.limit:
                    return
        except redis.RedisError as exc:
            raise StoreUnreachable(self.store.name, _first_line(exc)) from None

    def _sample(self, keys: list[bytes]) -> Iterator[Batch]:
        types_pipe = self.client.pipeline(transaction=False)
        for key in keys:
            types_pipe.type(key)
        types = [_text(reply) or "none" for reply in types_pipe.execute()]
        values_pipe = self.client.pipeline(transaction=False)
        for key, value_type in zip(keys, types, strict=True):
            _queue_read(values_pipe, key, value_type)
        replies = values_pipe.execute(raise_on_error=False)
        grouped: dict[str, list[tuple[Record, str]]] = {}
        for key, value_type, reply in zip(keys, types, replies, strict=True):
            name, remainder = self._collection_of(_text(key) or "")
            record = _redis_record(value_type, reply)
            if remainder is not None:
                record.append((KEY_FIELD, remainder))
            grouped.setdefault(name, []).append((record, value_type))
        for index, (name, entries) in enumerate(grouped.items()):
            yield Batch(name, [record for record, _ in entries], value_types=tuple(t for _, t in entries),
                        steps=len(keys) if index == 0 else 0)  # fmt: skip

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
        self.client.close()


def _key_regex(collection: Collection) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(collection.key_pattern or "")
    return re.compile("(.+?)".join(re.escape(part) for part in parts))


def _queue_read(pipe: Any, key: bytes, value_type: str) -> None:
    """One read per key, so replies line up with keys; EXISTS stands in for types that are not sampled."""
    if value_type == "ReJSON-RL":
        pipe.execute_command("JSON.GET", key)
        return
    method, *arguments = REDIS_READS.get(value_type, ("exists",))
    getattr(pipe, str(method))(key, *arguments)


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
            files = log_files(collection.path or "")
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
            with _open(path) as lines:
                for line in itertools.islice(lines, self.limit - len(records) - malformed):
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


def log_files(pattern: str) -> list[Path]:
    """Files the glob matches and their rotations (`x.1`, `x.2.gz`, `x.gz`), current ones first."""
    matched = set(glob.glob(pattern))
    matched.update(name for name in glob.glob(pattern + ".*") if ROTATED_SUFFIX.search(name))
    return sorted((path for name in matched if (path := Path(name)).is_file()), key=lambda p: (p.suffix == ".gz", p))


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


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _batched(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


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
