"""The audit chain on PostgreSQL with two writers at once (a rebalance, two replicas): one request's entries and
one partition's, added side by side, still form single chains that verify, with the links a lone writer gives."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.audit import handlers, orm
from services.audit.migrations import SCHEMA
from services.audit.verify import verify
from services.common.consumer import Delivery
from services.common.db import make_engine
from services.common.events import Event
from services.common.migrations import upgrade
from services.common.payloads.requests import RequestFailedPayload
from tests.unit.test_audit_chain import PUBLIC
from tests.unit.test_audit_chain import links as chain_links
from tests.unit.test_audit_handlers import STREAM, apply

pytestmark = pytest.mark.integration
REQUEST_ID, SUBJECT = "33333333-3333-4333-8333-333333333333", "d5" * 32
START = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
PER_WRITER = 60


def failure(number: int) -> Event:
    """A RequestFailed entry; the two writers' instants interleave, so each often lands before the other's."""
    payload = RequestFailedPayload(
        failed_event_id=REQUEST_ID, failed_event_type="RequestSubmitted", source_topic="privacy.requests",
        source_partition=0, source_offset=number, consumer_group="deletion", error_class="DecodeError",
        error="no", attempts=1,
    )  # fmt: skip
    instant = START + timedelta(seconds=number * 7 % (2 * PER_WRITER))
    return Event("RequestFailed", SUBJECT, "deletion", request_id=REQUEST_ID, occurred_at=instant,
                 event_id=f"f{number:07d}-0000-4000-8000-000000000000", payload=payload)  # fmt: skip


def write(engine: sa.Engine, numbers: range, start: threading.Barrier) -> None:
    start.wait()
    for number in numbers:
        with engine.begin() as conn:
            handlers.handle(failure(number), conn, Delivery("privacy.failures", 0, number))


def links(engine: sa.Engine) -> list[tuple[str, ...]]:
    t = orm.timeline
    with engine.connect() as conn:
        columns = (t.c.event_id, t.c.source_prev, t.c.source_hash, t.c.request_prev, t.c.request_hash)
        return [tuple(r) for r in conn.execute(sa.select(*columns).order_by(t.c.event_id))]


def test_two_writers_on_one_request_and_partition_keep_one_chain(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(SCHEMA, engine)
    start = threading.Barrier(2)
    # Offsets of one partition split between two writers, as during a rebalance overlap.
    writers = [threading.Thread(target=write, args=(engine, range(first, 2 * PER_WRITER, 2), start))
               for first in (0, 1)]  # fmt: skip
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    try:
        verdict = verify(engine, PUBLIC)
        assert verdict.entries == 2 * PER_WRITER
        assert verdict.intact, verdict.problems
        side_by_side = links(engine)
        with engine.begin() as conn:
            conn.execute(sa.delete(orm.timeline))
        write(engine, range(2 * PER_WRITER), threading.Barrier(1))
        assert links(engine) == side_by_side
    finally:
        engine.dispose()


def test_any_arrival_order_on_postgresql_gives_the_links_sqlite_gives(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL hashes the links in SQL (append.py), SQLite in Python: late arrivals re-link to the same chains."""
    expected = sqlite_links(tmp_path)
    engine = make_engine(pg_url)
    upgrade(SCHEMA, engine)
    try:
        for seed in range(4):
            with engine.begin() as conn:
                conn.execute(sa.delete(orm.timeline))
            apply(engine, random.Random(seed).sample(STREAM, len(STREAM)) if seed else list(reversed(STREAM)))
            assert chain_links(engine) == expected
    finally:
        engine.dispose()


def sqlite_links(tmp_path: Path) -> list[tuple[Any, ...]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'in-order.db'}")
    upgrade(SCHEMA, engine)
    apply(engine, STREAM)
    try:
        return chain_links(engine)
    finally:
        engine.dispose()
