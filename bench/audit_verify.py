"""`ccpa audit verify` over a large audit database: the timeline is built directly in PostgreSQL (COPY of rows
linked by services/audit/chain.py's own link rule, not through Kafka), one checkpoint is signed, then verify walks it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import checkpoints, orm
from services.audit.chain import GENESIS, canonical_entry, link
from services.audit.migrations import SCHEMA
from services.audit.verify import verify
from services.common.db import make_engine
from services.common.event_types import EventType
from services.common.migrations import upgrade

ENTRIES_PER_REQUEST = 5
PARTITIONS = 6
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
COLUMNS = ("event_id", "request_id", "subject_key", "event_type", "occurred_at", "producer", "topic", "partition",
           "offset", "details", "source_prev", "source_hash", "request_prev", "request_hash")  # fmt: skip


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    build_s: float
    verify_s: float
    intact: bool

    @property
    def rate(self) -> float:
        return self.entries / self.verify_s


def linked_rows(count: int) -> Iterator[tuple[Any, ...]]:
    """`count` entries in topic order, each with its source and request links, as COPY rows."""
    source_heads, request_head = [GENESIS] * PARTITIONS, GENESIS
    offsets = [0] * PARTITIONS
    for number in range(count):
        request_number, place = divmod(number, ENTRIES_PER_REQUEST)
        partition = request_number % PARTITIONS
        request_head = GENESIS if place == 0 else request_head
        details = {"error_class": "TimeoutError", "attempts": 1, "consumer_group": "bench"}
        entry: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=number + 1)), "request_id": str(uuid.UUID(int=(1 << 64) + request_number)),
            "subject_key": f"{request_number:064x}", "event_type": EventType.REQUEST_FAILED,
            "occurred_at": START + timedelta(seconds=number), "producer": "bench", "topic": "privacy.failures",
            "partition": partition, "offset": offsets[partition],
            "details": details,
        }  # fmt: skip
        canonical = canonical_entry(entry)
        source = link(source_heads[partition], canonical)
        request = link(request_head, canonical)
        yield (*(entry[c] for c in COLUMNS[:9]), json.dumps(details), source_heads[partition], source,
               request_head, request)  # fmt: skip
        source_heads[partition], request_head = source, request
        offsets[partition] += 1


def build(engine: sa.Engine, count: int, key: Ed25519PrivateKey) -> None:
    upgrade(SCHEMA, engine)
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        columns = ", ".join(f'"{c}"' for c in COLUMNS)
        with cursor.copy(f"COPY {orm.timeline.name} ({columns}) FROM STDIN") as copy:
            for row in linked_rows(count):
                copy.write_row(row)
    with engine.begin() as conn:
        conn.execute(sa.text(f"ANALYZE {orm.timeline.name}"))
        checkpoints.take(conn, key, datetime.now(UTC))


def measure(database_url: str, count: int) -> VerifyResult:
    engine = make_engine(database_url)
    key = Ed25519PrivateKey.generate()
    try:
        started = time.perf_counter()
        build(engine, count, key)
        built = time.perf_counter()
        verdict = verify(engine, checkpoints.public_key_bytes(key.public_key()))
        verified = time.perf_counter()
    finally:
        engine.dispose()
    return VerifyResult(verdict.entries, built - started, verified - built, verdict.intact)
