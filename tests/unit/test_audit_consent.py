"""A subject key's consent history on audit: only its consent changes, in timeline order, page by page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from services.audit import consent, orm
from services.common.db import make_engine

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
SUBJECT, OTHER = "a" * 64, "b" * 64


def entry(offset: int, subject_key: str = SUBJECT, event_type: str = "ConsentChanged",
          request_id: str | None = None, at: datetime = T0) -> dict[str, Any]:  # fmt: skip
    return {"event_id": str(uuid.uuid4()), "request_id": request_id, "subject_key": subject_key,
            "event_type": event_type, "occurred_at": at, "producer": "shop", "topic": "privacy.consent.changes",
            "partition": 0, "offset": offset, "details": {"source": "gpc", "sale_opt_out": True}}  # fmt: skip


@pytest.fixture
def audit_db() -> sa.Engine:
    engine = make_engine("sqlite://")
    orm.metadata.create_all(engine)
    return engine


def test_only_the_subjects_consent_changes_in_timeline_order(audit_db: sa.Engine) -> None:
    later, earlier = entry(1, at=T0 + timedelta(hours=1)), entry(2, request_id=str(uuid.uuid4()))
    with audit_db.begin() as conn:
        conn.execute(sa.insert(orm.timeline), [later, earlier, entry(3, subject_key=OTHER),
                                               entry(4, event_type="OptOutApplied")])  # fmt: skip
    page = consent.history(audit_db, SUBJECT)
    assert page is not None and page.next_cursor is None
    assert [change["event_id"] for change in page.changes] == [earlier["event_id"], later["event_id"]]
    first = page.changes[0]
    assert first["request_id"] == earlier["request_id"] and first["details"] == earlier["details"]
    assert first["source"] == {"topic": "privacy.consent.changes", "partition": 0, "offset": 2}


def test_a_long_history_comes_a_page_at_a_time(audit_db: sa.Engine) -> None:
    rows = [entry(n, at=T0 + timedelta(minutes=n % 3)) for n in range(7)]  # ties on occurred_at: offset decides
    with audit_db.begin() as conn:
        conn.execute(sa.insert(orm.timeline), rows)
    seen: list[str] = []
    cursor = None
    while True:
        page = consent.history(audit_db, SUBJECT, limit=3, cursor=cursor)
        assert page is not None
        seen += [change["event_id"] for change in page.changes]
        if (cursor := page.next_cursor) is None:
            break
    ordered = sorted(rows, key=lambda row: (row["occurred_at"], row["offset"]))
    assert seen == [row["event_id"] for row in ordered]


def test_no_consent_change_is_none_and_a_foreign_cursor_is_refused(audit_db: sa.Engine) -> None:
    other = entry(1, subject_key=OTHER)
    with audit_db.begin() as conn:
        conn.execute(sa.insert(orm.timeline), [entry(0), other, entry(2, subject_key="c" * 64, event_type="X")])
    assert consent.history(audit_db, "c" * 64) is None
    with pytest.raises(consent.UnknownCursor):
        consent.history(audit_db, SUBJECT, cursor=other["event_id"])
