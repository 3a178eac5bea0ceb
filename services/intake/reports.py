"""Access-report delivery: expiring links bound to one request, and downloads fetched from discovery, each one
recorded on the timeline (ReportDownloaded) through the outbox. A report the subject's deletion revoked is gone.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.metrics import REPORT_DOWNLOADS
from services.common.outbox import Outbox
from services.common.payloads.requests import ReportDownloadedPayload
from services.common.topics import REQUESTS, TopicNames
from services.intake import orm, reviews
from services.intake.review import Disposition, disposition
from services.intake.revocation import deletions_of, revoked_at

FORMATS = ("json", "csv", "html")
PRODUCER = "intake"


class LinkInvalid(PermissionError):
    """The link's signature does not match this request and expiry."""


class LinkExpired(PermissionError):
    """The link (and the report behind it) is past its expiry."""


class ReportRevoked(LinkExpired):
    """The subject's deletion completed after the report was built: the report was destroyed with their data."""


class ReportWithdrawn(LinkExpired):
    """A person reviewing the answer before it was sent withdrew it, report and all."""


class ReportUnavailable(RuntimeError):
    """Discovery could not hand the report over right now."""


class ReportNotReady(LookupError):
    """The request has no report (yet, or not of this kind)."""


class ReportHeld(ReportNotReady):
    """The answer is held for review: its report is not handed to the consumer yet."""


class ReportLinks:
    """HMAC-SHA256 over request id and expiry: a link for one request that stops working when the report expires."""

    def __init__(self, secret: bytes, public_base_url: str) -> None:
        # A key of its own, derived from the service secret, so a link signature says nothing about subject keys.
        self.secret = HKDF(hashes.SHA256(), 32, salt=None, info=b"ccpa report links").derive(secret)
        self.base = public_base_url.rstrip("/")

    def signature(self, request_id: str, expires: int) -> str:
        message = f"report-link|{request_id}|{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def links(self, request_id: str, expires_at: datetime, formats: list[str]) -> dict[str, str]:
        expires = int(expires_at.timestamp())
        signature = self.signature(request_id, expires)
        return {fmt: f"{self.base}/v1/requests/{request_id}/report?"
                     + urlencode({"format": fmt, "expires": expires, "signature": signature})
                for fmt in formats}  # fmt: skip

    def verify(self, request_id: str, expires: int, signature: str, now: datetime) -> None:
        # Compared as bytes: compare_digest refuses str with characters outside ASCII, and a link is anyone's input.
        if not hmac.compare_digest(self.signature(request_id, expires).encode(), signature.encode()):
            raise LinkInvalid("this link is not valid for this request")
        if now.timestamp() >= expires:
            raise LinkExpired("this link has expired; ask us for a new copy of your report")


@dataclass(frozen=True)
class Download:
    content: bytes
    media_type: str
    filename: str


class ReportDownloads:
    def __init__(self, engine: sa.Engine, outbox: Outbox, topics: TopicNames, links: ReportLinks,
                 discovery_url: str, api_token: str) -> None:  # fmt: skip
        self.engine = engine
        self.outbox = outbox
        self.topics = topics
        self.links = links
        self.client = httpx.Client(base_url=discovery_url, timeout=30.0,
                                   headers={"Authorization": f"Bearer {api_token}"})  # fmt: skip

    def report_of(self, request_id: str, conn: sa.Connection | None = None) -> sa.Row[Any] | None:
        """The request's report, unless a deletion of its subject revoked it or its review withdrew it."""
        if conn is None:
            with self.engine.connect() as own:
                return self.report_of(request_id, own)
        report = conn.execute(sa.select(orm.reports).where(orm.reports.c.request_id == request_id)).first()
        if report is None or self._revoked(conn, request_id, report) or reviews.withdrawn(conn, request_id):
            return None
        return report

    def download(self, request_id: str, fmt: str, expires: int, signature: str) -> Download:
        """The consumer's download through a signed link."""
        try:
            self.links.verify(request_id, expires, signature, utcnow())
        except LinkExpired:
            self._refuse_if_revoked(request_id)  # the truer reason, when it applies
            raise
        self._refuse_if_revoked(request_id)
        with self.engine.connect() as conn:
            if disposition(reviews.review_of(conn, request_id)) is Disposition.HOLD:
                raise ReportHeld("this report is being checked before we send it; we will e-mail you when it is")
        return self._fetch(request_id, fmt)

    def team_download(self, request_id: str, fmt: str) -> Download:
        """The privacy team's download (an API scope is the credential): a held report too, so it can be reviewed;
        ReportNotReady without one, ReportRevoked / ReportWithdrawn once it is gone."""
        self._refuse_if_revoked(request_id)
        return self._fetch(request_id, fmt)

    def _fetch(self, request_id: str, fmt: str) -> Download:
        report = self.report_of(request_id)
        if report is None or fmt not in report.formats:
            raise ReportNotReady(f"no {fmt} report for this request")
        try:
            response = self.client.get(f"/internal/v1/reports/{request_id}/{fmt}")
        except httpx.HTTPError as exc:
            raise ReportUnavailable(f"the report store did not answer ({type(exc).__name__})") from exc
        if response.status_code == 404:
            raise LinkExpired("the report has expired; ask us for a new copy")
        if response.status_code != 200:
            raise ReportUnavailable(f"the report store answered {response.status_code}")
        self._record(request_id, fmt, response)
        REPORT_DOWNLOADS.labels(fmt).inc()
        filename = response.headers.get("x-report-filename", f"report.{fmt}")
        return Download(response.content, response.headers["content-type"], filename)

    def _refuse_if_revoked(self, request_id: str) -> None:
        with self.engine.connect() as conn:
            report = conn.execute(sa.select(orm.reports).where(orm.reports.c.request_id == request_id)).first()
            if report is not None and self._revoked(conn, request_id, report):
                raise ReportRevoked("this report was deleted with your data when your deletion request was "
                                    "completed; it can no longer be downloaded")  # fmt: skip
            if report is not None and reviews.withdrawn(conn, request_id):
                raise ReportWithdrawn("this report was withdrawn when we checked it before sending it; "
                                      "it can no longer be downloaded")  # fmt: skip

    @staticmethod
    def _revoked(conn: sa.Connection, request_id: str, report: sa.Row[Any]) -> bool:
        subject_key = conn.execute(sa.select(orm.requests.c.subject_key)
                                   .where(orm.requests.c.request_id == request_id)).scalar()  # fmt: skip
        if subject_key is None:
            return False
        completed = [row.completed_at for row in deletions_of(conn, subject_key)]
        return revoked_at(report.ready_at, completed) is not None

    def _record(self, request_id: str, fmt: str, response: httpx.Response) -> None:
        with self.engine.begin() as conn:
            subject_key = conn.execute(sa.select(orm.requests.c.subject_key)
                                       .where(orm.requests.c.request_id == request_id)).scalar_one()  # fmt: skip
            downloaded = ReportDownloadedPayload(format=fmt, sha256=response.headers.get("x-report-sha256", ""),
                                                 bytes=len(response.content))  # fmt: skip
            event = Event(EventType.REPORT_DOWNLOADED, subject_key, PRODUCER, downloaded, request_id=request_id)
            self.outbox.add(conn, self.topics(REQUESTS), [event])

    def close(self) -> None:
        self.client.close()


def expiry_of(row: Any) -> datetime:
    expires: datetime = row.expires_at
    return expires if expires.tzinfo else expires.replace(tzinfo=UTC)
