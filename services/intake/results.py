"""What the acting services answered, read from their result topics, so `GET /v1/requests/{id}` tells the truth:
status completed or denied, the response summary, and the access report once it is ready. A completed deletion
revokes the subject's earlier reports and, when nothing needs it any more, shreds the subject's data key.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from services.common.consumer import Delivery
from services.common.db import insert_for
from services.common.events import Event
from services.intake import orm
from services.intake.revocation import SubjectKeys, record_deletion

FINAL_STATUS = {"RequestCompleted": "completed", "RequestDenied": "denied"}


class ResultHandlers:
    def __init__(self, keys: SubjectKeys) -> None:
        self.keys = keys
        self.routes: dict[str, Callable[[Event, sa.Connection], None]] = {
            "RequestCompleted": self.on_response,
            "RequestDenied": self.on_response,
            "ReportReady": self.on_report_ready,
            "DeletionCompleted": self.on_deletion_completed,
        }

    def handle(self, event: Event, conn: sa.Connection, _delivery: Delivery) -> None:
        if event.request_id and (route := self.routes.get(event.event_type)):
            route(event, conn)

    def on_response(self, event: Event, conn: sa.Connection) -> None:
        payload = event.payload
        completed = event.event_type == "RequestCompleted"
        outcome = payload["outcome"] if completed else "denied"
        summary = payload["summary"] if completed else payload["basis"]
        _upsert(conn, orm.responses, {"request_id": event.request_id, "outcome": outcome, "summary": summary,
                                      "responded_at": event.occurred_at, "producer": event.producer})  # fmt: skip
        values: dict[str, object] = {"status": FINAL_STATUS[event.event_type], "responded_at": event.occurred_at}
        if not completed:
            values |= {"denial_code": payload["denial_code"], "denial_basis": payload["basis"]}
        conn.execute(sa.update(orm.requests).where(orm.requests.c.request_id == event.request_id).values(**values))
        self.keys.settle(conn, event.subject_key)

    def on_deletion_completed(self, event: Event, conn: sa.Connection) -> None:
        if event.payload["operation"] == "delete":
            record_deletion(conn, event)

    def on_report_ready(self, event: Event, conn: sa.Connection) -> None:
        payload = event.payload
        row = {
            "request_id": event.request_id,
            "request_type": payload["request_type"],
            "formats": list(payload["formats"]),
            "records": payload["records"],
            "period_start": payload["period_start"],
            "period_end": payload["period_end"],
            "sha256": payload["sha256"],
            "ready_at": event.occurred_at,
            "expires_at": payload["expires_at"],
        }
        _upsert(conn, orm.reports, row)


def _upsert(conn: sa.Connection, table: sa.Table, row: dict[str, object]) -> None:
    insert = insert_for(conn, table).values(**row)
    changed = {column: insert.excluded[column] for column in row if column != "request_id"}
    conn.execute(insert.on_conflict_do_update(index_elements=["request_id"], set_=changed))
