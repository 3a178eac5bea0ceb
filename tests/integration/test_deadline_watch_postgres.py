"""The deadline watch on PostgreSQL (revision 0003), with two audit replicas ticking at once: every announcement
is written to the outbox exactly once, for request clocks, provider confirmations and downstream acknowledgements."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.audit import orm
from services.audit.migrations import SCHEMA
from services.common.db import make_engine
from services.common.migrations import upgrade
from tests.fields import event_of
from tests.unit.test_deadline_watch import (
    DUE,
    LEAD,
    RECEIVED,
    REQUEST_ID,
    SUBJECT,
    completed,
    consume,
    produced,
    submitted,
    watch_of,
)

pytestmark = pytest.mark.integration
TICKS = 20


def provider_and_downstream_clocks() -> list[object]:
    instructed = {"recipient": "mailer", "role": "service_provider", "operation": "delete", "instruction_id": "ins-1",
                  "outcome": "sent", "confirm_by": RECEIVED + timedelta(days=10)}  # fmt: skip
    applied = {"state_version": 2, "sale_opt_out": True, "share_opt_out": True, "source": "gpc",
               "downstream_expected": ["adtech-sync"], "acknowledge_by": RECEIVED + timedelta(days=20)}  # fmt: skip
    return [
        event_of("ProviderInstructed", SUBJECT, "deletion", instructed, request_id=REQUEST_ID,
                 occurred_at=RECEIVED + timedelta(days=1), event_id="f0000000-0000-4000-8000-000000000010"),
        # An opt-out no request asked for: its clock belongs to the subject.
        event_of("OptOutApplied", SUBJECT, "optout", applied, occurred_at=RECEIVED,
                 event_id="f0000000-0000-4000-8000-000000000011"),
    ]  # fmt: skip


def test_two_replicas_ticking_together_announce_each_clock_once(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(SCHEMA, engine)
    consume(engine, completed(DUE + timedelta(hours=1)), submitted(), *provider_and_downstream_clocks())  # type: ignore[arg-type]
    start = threading.Barrier(2)

    def replica() -> None:
        watch = watch_of(engine)
        start.wait()
        for tick in range(TICKS):
            watch.tick(DUE - LEAD + tick * timedelta(days=1))

    replicas = [threading.Thread(target=replica) for _ in range(2)]
    for thread in replicas:
        thread.start()
    for thread in replicas:
        thread.join(60)
    events = [event for event, _ in produced(engine)]
    kinds = Counter((e.payload.clock, str(e.event_type)) for e in events)  # type: ignore[attr-defined]
    assert kinds == {
        ("respond", "DeadlineApproaching"): 1, ("respond", "DeadlineMissed"): 1,
        ("extension_notice", "DeadlineApproaching"): 1, ("extension_notice", "DeadlineMissed"): 1,
        ("provider_confirmation", "DeadlineApproaching"): 1, ("provider_confirmation", "DeadlineMissed"): 1,
        ("downstream_ack", "DeadlineApproaching"): 1, ("downstream_ack", "DeadlineMissed"): 1,
    }  # fmt: skip
    assert len({e.event_id for e in events}) == len(events)
    downstream = next(e for e in events if e.payload.clock == "downstream_ack")  # type: ignore[attr-defined]
    assert downstream.request_id is None and downstream.payload.item == "adtech-sync@2"  # type: ignore[attr-defined]
    with engine.connect() as conn:
        settled = conn.execute(sa.select(orm.deadline_clocks.c.clock, orm.deadline_clocks.c.settled)
                               .where(orm.deadline_clocks.c.due_at.is_not(None))).all()  # fmt: skip
    assert all(flag for _, flag in settled), settled
    engine.dispose()
