"""Intake's results consumer and its key sweep settling one subject at once, on PostgreSQL: the data key is shredded
once and the delete request gets one `KeysShredded`, not one from each."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from devtools.localstack import DatabaseServer
from services.common.db import make_engine
from services.common.migrations import schema_of, upgrade
from services.common.outbox import Outbox
from services.common.serde import SingleObjectCodec
from services.common.topics import TopicNames
from services.intake import orm
from services.intake.revocation import SubjectKeys
from tests.support import run_at_once

pytestmark = pytest.mark.integration

SUBJECT = "c" * 64
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


class SlowShredder:
    """Holds the shred long enough for the other settler to read the same pending deletion."""

    def __init__(self) -> None:
        self.calls = 0

    def shred_subject_keys(self, subject_key: str) -> list[str]:
        self.calls += 1
        time.sleep(0.5)
        return ["dk-1"] if self.calls == 1 else []


@pytest.fixture
def intake_db(postgres_server: DatabaseServer) -> Iterator[sa.Engine]:
    name = f"intake_settle_{uuid.uuid4().hex[:8]}"
    engine = make_engine(postgres_server.create_database(name))
    upgrade(schema_of("intake"), engine)
    yield engine
    engine.dispose()
    postgres_server.drop_database(name)


def test_two_settlers_of_one_subject_shred_once_with_one_event(intake_db: sa.Engine) -> None:
    request_id = str(uuid.uuid4())
    with intake_db.begin() as conn:
        conn.execute(sa.insert(orm.requests).values(
            request_id=request_id, subject_key=SUBJECT, request_type="delete", requested_type="delete",
            channel="web_form", status="completed", received_at=T0, respond_by=T0 + timedelta(days=45),
            identifiers_sealed={}, identifier_kinds=["email"], verification_required="reasonably_high",
            verification_achieved="reasonably_high", verification_outcome="verified", authorized_agent=False,
            gpc=False))  # fmt: skip
        conn.execute(sa.insert(orm.completed_deletions).values(request_id=request_id, subject_key=SUBJECT,
                                                               completed_at=T0, undelivered=[]))  # fmt: skip
    keys = SubjectKeys(SlowShredder(), Outbox(orm.outbox, SingleObjectCodec()), TopicNames(""))

    def settle(_: int) -> None:
        with intake_db.begin() as conn:
            keys.settle(conn, SUBJECT)

    assert run_at_once(settle, [1, 2]) == []
    with intake_db.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(orm.outbox)).scalar_one()
    assert events == 1
