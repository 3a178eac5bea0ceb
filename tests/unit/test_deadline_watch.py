"""The deadline watch over audit's tables (SQLite): clocks from the events, each announcement produced once through
the outbox with the same bytes everywhere, and read back from the topic so a rebuilt audit never repeats one."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.audit import handlers, orm
from services.audit.watch import DeadlineWatch
from services.common import contracts
from services.common.clocks import deadlines_for
from services.common.consumer import Delivery
from services.common.db import make_engine
from services.common.events import Event
from services.common.metrics import OLDEST_OPEN_REQUEST, OPEN_REQUESTS
from services.common.outbox import Outbox
from services.common.request_types import RequestType
from services.common.serde import SingleObjectCodec
from tests.fields import event_of
from tests.support import wait_for
from tests.unit.test_audit_handlers import submitted_payload

REQUEST_ID = "33333333-3333-4333-8333-333333333333"
SUBJECT = "e5" * 32
RECEIVED = datetime(2026, 11, 5, 17, 0, tzinfo=UTC)
DEADLINES = deadlines_for(RequestType.DELETE, RECEIVED)
DUE = DEADLINES.respond_by
LEAD = timedelta(days=7)
SECOND = timedelta(seconds=1)
CODEC = SingleObjectCodec()
OFFSETS = itertools.count()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    yield from fresh(tmp_path / "audit.db")


def fresh(path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{path}")
    orm.metadata.create_all(engine)
    yield engine
    engine.dispose()


def watch_of(engine: sa.Engine, skew: timedelta = timedelta(0)) -> DeadlineWatch:
    return DeadlineWatch(engine, Outbox(orm.outbox, CODEC), "privacy.deadlines", LEAD, 60.0, skew)


def event(n: int, event_type: str, occurred_at: datetime, payload: dict[str, Any], producer: str = "intake") -> Event:
    return event_of(event_type, SUBJECT, producer, payload, request_id=REQUEST_ID, occurred_at=occurred_at,
                    event_id=f"f0000000-0000-4000-8000-{n:012d}")  # fmt: skip


def submitted() -> Event:
    return event(1, "RequestSubmitted", RECEIVED, submitted_payload("delete", RECEIVED, DUE, corrections=False))


def completed(at: datetime) -> Event:
    return event(2, "RequestCompleted", at, {"outcome": "complied", "summary": "deleted"}, producer="deletion")


def extended(to: datetime) -> Event:
    payload = {"previous_respond_by": DUE, "respond_by": to, "reason": "two processors hold records"}
    return event(3, "RequestExtended", RECEIVED + timedelta(days=30), payload)


def consume(engine: sa.Engine, *events: Event) -> None:
    for one in events:
        with engine.begin() as conn:
            handlers.handle(one, conn, Delivery("privacy.requests", 0, next(OFFSETS)))


def produced(engine: sa.Engine) -> list[tuple[Event, bytes]]:
    with engine.connect() as conn:
        values = conn.execute(sa.select(orm.outbox.c.message_value).order_by(orm.outbox.c.id)).scalars().all()
    return [(CODEC.decode(value), value) for value in values]


def announced(engine: sa.Engine, clock: str = "respond") -> list[tuple[str, datetime, datetime]]:
    return [(str(e.event_type), e.payload.due_at, e.occurred_at)  # type: ignore[attr-defined]
            for e, _ in produced(engine) if e.payload.clock == clock]  # type: ignore[attr-defined]  # fmt: skip


def test_approaching_is_produced_at_due_minus_lead_once_and_missed_after_due(engine: sa.Engine) -> None:
    consume(engine, submitted())
    watch = watch_of(engine)
    watch.tick(DUE - LEAD - SECOND)
    assert announced(engine) == []
    watch.tick(DUE - LEAD)
    watch.tick(DUE)
    assert announced(engine) == [("DeadlineApproaching", DUE, DUE - LEAD)]
    watch.tick(DUE + SECOND)
    watch.tick(DUE + timedelta(days=3))
    assert announced(engine) == [("DeadlineApproaching", DUE, DUE - LEAD), ("DeadlineMissed", DUE, DUE)]


def test_an_extension_moves_the_due_date_and_a_new_approaching_follows_for_it(engine: sa.Engine) -> None:
    consume(engine, submitted())
    watch = watch_of(engine)
    watch.tick(DUE - LEAD)
    new_due = DEADLINES.max_extended_respond_by
    assert new_due is not None
    consume(engine, extended(new_due))
    watch.tick(DUE + timedelta(days=1))
    assert announced(engine) == [("DeadlineApproaching", DUE, DUE - LEAD)]
    watch.tick(new_due - LEAD)
    assert announced(engine)[-1] == ("DeadlineApproaching", new_due, new_due - LEAD)
    assert announced(engine, "extension_notice") == [("DeadlineApproaching", DUE, DUE - LEAD)]


def test_completed_one_second_before_the_deadline_gives_no_missed(engine: sa.Engine) -> None:
    consume(engine, submitted(), completed(DUE - SECOND))
    watch_of(engine).tick(DUE + timedelta(days=10))
    assert [kind for kind, _, _ in announced(engine)] == ["DeadlineApproaching"]


def test_completed_after_the_deadline_before_the_watch_ran_is_still_missed(engine: sa.Engine) -> None:
    consume(engine, submitted(), completed(DUE + SECOND))
    watch_of(engine).tick(DUE + timedelta(days=10))
    assert announced(engine) == [("DeadlineApproaching", DUE, DUE - LEAD), ("DeadlineMissed", DUE, DUE)]


def test_two_audits_produce_the_same_bytes_and_a_rebuilt_one_reads_them_back_and_repeats_nothing(
    engine: sa.Engine, tmp_path: Path
) -> None:
    consume(engine, submitted())
    watch_of(engine).tick(DUE + timedelta(days=1))
    first = [value for _, value in produced(engine)]
    for announcement, _ in produced(engine):
        contracts.check(announcement, now=DUE + timedelta(days=1))  # what audit's consumer checks on reading it
    for other in fresh(tmp_path / "replica.db"):
        consume(other, submitted())
        watch_of(other).tick(DUE + timedelta(days=2))
        assert [value for _, value in produced(other)] == first
    for rebuilt in fresh(tmp_path / "rebuilt.db"):
        consume(rebuilt, submitted(), *(announcement for announcement, _ in produced(engine)))
        assert watch_of(rebuilt).tick(DUE + timedelta(days=5)) == 0
        assert produced(rebuilt) == []


def test_a_skewed_watch_crosses_early_and_dates_its_events_back_by_the_skew(engine: sa.Engine) -> None:
    consume(engine, submitted())
    skew = timedelta(days=60)
    watch_of(engine, skew).tick(DUE - skew + SECOND)
    assert announced(engine) == [("DeadlineApproaching", DUE, DUE - LEAD - skew), ("DeadlineMissed", DUE, DUE - skew)]


def test_the_gauges_count_the_open_request_by_type_and_state_and_its_age(engine: sa.Engine) -> None:
    consume(engine, submitted())
    watch = watch_of(engine)
    watch.tick(DUE - timedelta(days=1))
    assert OPEN_REQUESTS.labels("delete", "due_soon")._value.get() == 1
    assert OPEN_REQUESTS.labels("delete", "overdue")._value.get() == 0
    watch.tick(DUE + SECOND)
    assert OPEN_REQUESTS.labels("delete", "overdue")._value.get() == 1
    assert OLDEST_OPEN_REQUEST._value.get() == (DUE + SECOND - RECEIVED).total_seconds()
    consume(engine, completed(DUE + timedelta(hours=1)))
    watch.tick(DUE + timedelta(hours=2))
    assert OPEN_REQUESTS.labels("delete", "overdue")._value.get() == 0
    assert OLDEST_OPEN_REQUEST._value.get() == 0


def test_the_watch_announces_nothing_until_the_timeline_consumer_has_caught_up(engine: sa.Engine) -> None:
    consume(engine, submitted())
    watch = watch_of(engine, skew=timedelta(days=60))  # every clock of the request has run out by the watch's clock
    watch.ready = threading.Event()
    stop = threading.Event()
    thread = threading.Thread(target=watch.run, args=(stop,))
    thread.start()
    try:
        started = watch.last_loop_at
        wait_for(lambda: watch.last_loop_at > started, timeout=10, what="a round of the waiting watch")
        assert announced(engine) == []
        watch.ready.set()
        wait_for(lambda: announced(engine) or None, timeout=10, what="the announcements once caught up")
    finally:
        stop.set()
        thread.join(10)
    assert [kind for kind, _, _ in announced(engine)] == ["DeadlineApproaching", "DeadlineMissed"]
