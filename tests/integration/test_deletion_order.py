"""A correction whose discovery result is applied before its request (two topics, no order between them: it
happens after a restart) waits for the request's corrections instead of failing with a traceback."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, cast

import pytest
import sqlalchemy as sa

from services.common.consumer import Delivery
from services.common.events import Event
from services.common.topics import TopicNames
from services.deletion import orm
from services.deletion.handlers import DeletionHandlers
from services.deletion.settings import DeletionSettings
from services.deletion.stages.context import Ports
from services.deletion.worker import DeletionWorker
from tests.fields import with_fields
from tests.nonsense import well_formed

pytestmark = pytest.mark.integration

HERE = Delivery("t", 0, 0)
SEALED = {"key_id": "dk-1", "nonce": b"\x00" * 12, "ciphertext": b"\x01" * 16}


def correction(event_type: str, request_id: str, **payload: Any) -> Event:
    event = well_formed(event_type)
    fields = {**event.payload.to_record(), "request_type": "correct", **payload}
    return dataclasses.replace(with_fields(event, fields), request_id=request_id)


def test_a_correction_waits_for_its_request_when_discovery_came_first(deletion_db: sa.Engine) -> None:
    handlers, request_id = DeletionHandlers(), "00000000-0000-4000-8000-00000000c0de"
    with deletion_db.begin() as conn:
        handlers.handle(correction("DiscoveryCompleted", request_id, identifiers=SEALED), conn, HERE)
    # No corrections port: calling it (the old behaviour) fails the step, which the assertions below would see.
    worker = DeletionWorker(Ports(deletion_db, *[cast(Any, None)] * 10), cast(Any, None), TopicNames(""),
                            DeletionSettings.model_construct(), threading.Event())  # fmt: skip
    [job] = worker.jobs.claim(limit=8)
    assert (job.stage, job.corrections_sealed) == ("erasing", None)

    worker.step_safely(job)

    with deletion_db.connect() as conn:
        waiting = conn.execute(sa.select(orm.jobs).where(orm.jobs.c.request_id == request_id)).one()
    assert (waiting.stage, waiting.attempts, waiting.lease_owner) == ("erasing", 0, None), "waits, not a failure"
    submitted = correction("RequestSubmitted", request_id, verification_outcome="verified", authorized_agent=False,
                           corrections=SEALED)  # fmt: skip
    with deletion_db.begin() as conn:
        handlers.handle(submitted, conn, HERE)
        arrived = conn.execute(sa.select(orm.jobs.c.corrections_sealed, orm.jobs.c.stage)
                               .where(orm.jobs.c.request_id == request_id)).one()  # fmt: skip
    assert arrived.corrections_sealed is not None and arrived.stage == "erasing"
