"""Audit ingest with the chain on and off: the real consumer (ConsumerRunner, inbox, one transaction per event) over
the same events on the same broker and PostgreSQL, once with audit's routes and once with a bench-only handler that
stores the same entry row without its links. The chain's cost is the ratio of the two rates."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from confluent_kafka.admin import AdminClient
from sqlalchemy.dialects import postgresql

from services.audit import handlers, orm
from services.audit.chain import ENTRY_FIELDS
from services.audit.migrations import SCHEMA
from services.common.consumer import ConsumerRunner, DeadLetterTopics, Delivery, Routes
from services.common.db import make_engine
from services.common.event_types import EventType
from services.common.events import Event
from services.common.kafka import EventProducer, event_message
from services.common.migrations import upgrade
from services.common.payloads.requests import RequestFailedPayload
from services.common.serde import SingleObjectCodec
from services.common.topics import DLQ, FAILURES, TopicNames, ensure_topics

ENTRIES_PER_REQUEST = 5
PARTITIONS = 3
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def unchained_entry(event: Event, conn: sa.Connection, delivery: Delivery) -> None:
    """Bench only: audit's timeline insert with the chain columns left empty, its statement built once (as the
    chained one is), so the two variants differ by the chain alone."""
    conn.execute(_unchained_insert(), handlers.timeline_entry(event, delivery)).first()


@functools.cache
def _unchained_insert() -> Any:
    values = {name: sa.bindparam(name, type_=orm.timeline.c[name].type) for name in ENTRY_FIELDS}
    insert = postgresql.insert(orm.timeline).values(values).on_conflict_do_nothing(index_elements=["event_id"])
    return insert.returning(orm.timeline.c.event_id)


CHAIN_OFF: Routes = {event_type: unchained_entry for event_type in EventType}


def events(count: int) -> list[Event]:
    """`count` RequestFailed events, ENTRIES_PER_REQUEST per request, in time order within each request."""
    made: list[Event] = []
    for number in range(count):
        request = uuid.UUID(int=number // ENTRIES_PER_REQUEST + 1)
        payload = RequestFailedPayload(
            failed_event_id=str(request), failed_event_type=EventType.REQUEST_SUBMITTED,
            source_topic="privacy.requests", source_partition=0, source_offset=number, consumer_group="bench",
            error_class="TimeoutError", error="the store did not answer", attempts=1,
        )  # fmt: skip
        instant = START + timedelta(seconds=number)
        subject = f"{number // ENTRIES_PER_REQUEST:064x}"
        made.append(Event(EventType.REQUEST_FAILED, subject, "bench", request_id=str(request), occurred_at=instant,
                          payload=payload))  # fmt: skip
    return made


def produce(bootstrap: str, names: TopicNames, count: int) -> None:
    ensure_topics(AdminClient({"bootstrap.servers": bootstrap}), names, PARTITIONS, 1, (FAILURES, DLQ))
    producer, codec = EventProducer({"bootstrap.servers": bootstrap}, client_id="bench-audit"), SingleObjectCodec()
    try:
        batch = [event_message(names(FAILURES), event, codec) for event in events(count)]
        for first in range(0, len(batch), 5000):
            producer.send_all(batch[first : first + 5000], timeout=120)
    finally:
        producer.close()


def ingest_rate(bootstrap: str, names: TopicNames, database_url: str, routes: Routes, count: int) -> float:
    """Events/s of one consumer reading the `count` events into a fresh audit database: from its first committed
    event to its last (the group join before the first is not counted)."""
    engine = make_engine(database_url)
    upgrade(SCHEMA, engine)
    codec = SingleObjectCodec()
    runner = ConsumerRunner(
        group_id=f"bench-audit-{uuid.uuid4().hex[:8]}", topics=[names(FAILURES)],
        kafka_config={"bootstrap.servers": bootstrap}, engine=engine, inbox=orm.inbox, routes=routes, codec=codec,
        producer=EventProducer({"bootstrap.servers": bootstrap}, client_id="bench-audit-dlq"),
        dead_letters=DeadLetterTopics(names(DLQ), names(FAILURES)),
    )  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        first_at = _when(lambda: runner.processed_count >= 1, timeout=60)
        last_at = _when(lambda: runner.processed_count >= count, timeout=600)
    finally:
        stop.set()
        thread.join(30)
        runner.producer.close()
        engine.dispose()
    return (count - 1) / (last_at - first_at)


def _when(done: Callable[[], bool], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the audit consumer did not catch up in time")
        time.sleep(0.002)
    return time.perf_counter()
