"""The e-mails to a consumer about one request as the privacy team sees them (kind, template, delivery, attempts,
never the address or the text), and a fresh copy of one sent again on the team's word."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.common.crypto import KeyShredded
from services.intake import orm
from services.intake.notices import HELD, WITHDRAWN, NoticeQueue
from services.intake.pending import Delivery

log = logging.getLogger(__name__)
RESENDABLE = frozenset({"acknowledgement", "extension", "response", "report_ready"})
CODE_PREFIX = "code-"  # a verification code e-mail's id: code-<pending form>-<attempt>


@dataclass(frozen=True)
class NoticeView:
    notice_id: str
    kind: str
    template: str
    template_version: str
    state: str  # pending | sent | failed | held | withdrawn
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None  # the failure's class ("SMTP 451", "address erased"), never the server's text
    resendable: bool
    resent_from: str | None = None


class NoticeUnknown(LookupError):
    """No such notice for this request (404)."""


class NoticeNotResendable(Exception):
    """The notice cannot be sent again (409): the message says why."""


def notice_views(conn: sa.Connection, request_id: str) -> list[NoticeView]:
    """Every e-mail about the request, oldest first: the code e-mails of its form, then the queued notices."""
    table = orm.notices
    rows = conn.execute(sa.select(table).where(table.c.request_id == request_id).order_by(table.c.created_at))
    queued = [NoticeView(row.notice_id, row.notice, row.template, row.template_version, row.status, row.attempts,
                         row.created_at, row.sent_at, row.last_detail, row.notice in RESENDABLE
                         and row.status not in (HELD, WITHDRAWN), row.resent_from)
              for row in rows]  # fmt: skip
    return [*_code_views(conn, request_id), *queued]


def _code_views(conn: sa.Connection, request_id: str) -> list[NoticeView]:
    table = orm.pending_submissions
    rows = conn.execute(sa.select(table.c.pending_id, table.c.deliveries).where(table.c.request_id == request_id))
    views = []
    for row in rows:
        for sent in (Delivery.from_json(data) for data in row.deliveries):
            views.append(NoticeView(f"{CODE_PREFIX}{row.pending_id}-{sent.attempt}", "verification_code",
                                    sent.template, sent.template_version, sent.delivery, 1, sent.at,
                                    sent.at if sent.delivery == "sent" else None, sent.detail, False))  # fmt: skip
    return views


class TeamNotices:
    def __init__(self, engine: sa.Engine, queue: NoticeQueue | None) -> None:
        self.engine, self.queue = engine, queue

    def of_request(self, request_id: str) -> list[NoticeView]:
        with self.engine.connect() as conn:
            return notice_views(conn, request_id)

    def resend(self, request_id: str, notice_id: str, now: datetime) -> str:
        """Queue a fresh copy of the notice (the worker sends it and reports a NoticeSent): the copy's id."""
        if notice_id.startswith(CODE_PREFIX):
            self._code_exists(request_id, notice_id)
            raise NoticeNotResendable("a verification code cannot be sent again: the consumer asks for a new one")
        with self.engine.begin() as conn:
            table = orm.notices
            row = conn.execute(sa.select(table).where(table.c.notice_id == notice_id,
                                                      table.c.request_id == request_id)).first()  # fmt: skip
            if row is None:
                raise NoticeUnknown("no such notice for this request")
            if self.queue is None:
                raise NoticeNotResendable("consumer e-mail is off (no mail server is configured)")
            _refuse(row._mapping)
            try:
                copy_id = self.queue.copy(conn, row._mapping, now)
            except KeyShredded:
                raise NoticeNotResendable("the subject's keys were shredded: the address is gone, nothing can be "
                                          "sent") from None  # fmt: skip
        log.info("notice re-sent on the team's word", extra={"request_id": request_id, "notice": row.notice})
        self.queue.wake()
        return copy_id

    def _code_exists(self, request_id: str, notice_id: str) -> None:
        if not any(view.notice_id == notice_id for view in self.of_request(request_id)):
            raise NoticeUnknown("no such notice for this request")


def _refuse(row: Any) -> None:
    if row["notice"] not in RESENDABLE:
        raise NoticeNotResendable(f"a {row['notice']} e-mail cannot be sent again")
    if row["status"] == HELD:
        raise NoticeNotResendable("this e-mail is held until its answer is reviewed: approve the answer to send it")
    if row["status"] == WITHDRAWN:
        raise NoticeNotResendable("this e-mail was withdrawn when its answer was denied in review")
