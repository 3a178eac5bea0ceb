"""Audit's API as the console reads it: the queue, the dashboard's figures, the §7102 table, a request's timeline
and a subject's consent history (docs/console.md, "The APIs the console calls")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from services.console.clients.base import ServiceClient, ServiceRefused

HISTORY_PAGE = 200
HISTORY_PAGES = 5  # a look-up shows at most this many pages of consent changes (1,000): the newest are kept


@dataclass(frozen=True)
class QueueQuery:
    """One page of the queue: the filters as audit names them, and where the page starts."""

    request_type: str | None = None
    status: str | None = None
    channel: str | None = None
    due_within_days: int | None = None
    cursor: str | None = None
    page_size: int = 50

    def params(self) -> dict[str, Any]:
        return {"type": self.request_type, "status": self.status, "channel": self.channel,
                "due_within_days": self.due_within_days, "cursor": self.cursor,
                "page_size": self.page_size}  # fmt: skip


@dataclass(frozen=True)
class QueueItem:
    request_id: str
    request_type: str
    channel: str
    received_at: datetime
    due_at: datetime
    extended: bool
    responded_at: datetime | None
    response_nature: str | None
    review_state: str | None
    state: str
    days_left: int | None

    @classmethod
    def of(cls, item: dict[str, Any]) -> QueueItem:
        return cls(str(item["request_id"]), str(item["request_type"]), str(item.get("channel") or ""),
                   _when(item["received_at"]), _when(item["due_at"]), bool(item.get("extended")),
                   _maybe_when(item.get("responded_at")), item.get("response_nature"), item.get("review_state"),
                   str(item["state"]), _maybe_int(item.get("days_left")))  # fmt: skip


@dataclass(frozen=True)
class QueueCounts:
    matching: int = 0
    open: int = 0
    overdue: int = 0
    due_within_7_days: int = 0
    awaiting_review: int = 0
    answered: int = 0

    @classmethod
    def of(cls, counts: dict[str, Any]) -> QueueCounts:
        return cls(**{name: int(counts.get(name) or 0) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    counts: QueueCounts
    next_cursor: str | None
    now: datetime | None


@dataclass(frozen=True)
class Backlog:
    """Confirmations awaited (from recipients, or downstream systems of an opt-out) and how many are overdue."""

    awaiting: int = 0
    overdue: int = 0
    by_recipient: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, backlog: dict[str, Any] | None) -> Backlog:
        backlog = backlog or {}
        return cls(int(backlog.get("awaiting") or 0), int(backlog.get("overdue") or 0),
                   {str(name): int(n) for name, n in (backlog.get("by_recipient") or {}).items()})  # fmt: skip


@dataclass(frozen=True)
class Week:
    week_start: str  # YYYY-MM-DD, a Monday in Los Angeles
    received: int
    answered: int


@dataclass(frozen=True)
class Dashboard:
    now: datetime | None
    overdue_by_type: dict[str, int]
    due_this_week_by_type: dict[str, int]
    throughput: list[Week]
    recipients: Backlog
    downstream: Backlog

    @classmethod
    def of(cls, body: dict[str, Any]) -> Dashboard:
        weeks = [Week(str(w["week_start"]), int(w.get("received") or 0), int(w.get("answered") or 0))
                 for w in body.get("throughput") or []]  # fmt: skip
        return cls(_maybe_when(body.get("now")), _counts(body.get("overdue_by_type")),
                   _counts(body.get("due_this_week_by_type")), weeks, Backlog.of(body.get("recipients")),
                   Backlog.of(body.get("downstream")))  # fmt: skip


@dataclass(frozen=True)
class MetricsLine:
    request_type: str
    received: int
    complied_in_whole_or_in_part: int
    denied: int
    denial_reasons: dict[str, int]
    pending: int
    median_days_to_respond: float | None
    mean_days_to_respond: float | None


@dataclass(frozen=True)
class Metrics7102:
    year: int
    lines: list[MetricsLine]
    signal_opt_outs_said: str
    days_to_respond_said: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> Metrics7102:
        lines = [MetricsLine(str(li["request_type"]), int(li["received"]), int(li["complied_in_whole_or_in_part"]),
                             int(li["denied"]), dict(li.get("denial_reasons") or {}), int(li.get("pending") or 0),
                             li.get("median_days_to_respond"), li.get("mean_days_to_respond"))
                 for li in body.get("lines") or []]  # fmt: skip
        said = (body.get("signal_opt_outs") or {}).get("said") or ""
        return cls(int(body["year"]), lines, str(said), str(body.get("days_to_respond") or ""))


@dataclass(frozen=True)
class ConsentChange:
    """One consent change on audit's record: when, who said so, what it changed."""

    event_id: str
    request_id: str | None
    occurred_at: datetime
    producer: str
    details: dict[str, Any]


class AuditClient(ServiceClient):
    """Audit's read API with the console's token (scope timeline:read)."""

    def __init__(self, base_url: str, token: str, timeout: float, **options: Any) -> None:
        super().__init__("audit", base_url, token, timeout, **options)

    def queue(self, query: QueueQuery) -> QueuePage:
        body = self.get("/v1/queue", query.params())
        return QueuePage([QueueItem.of(item) for item in body.get("items") or []],
                         QueueCounts.of(body.get("counts") or {}), cursor_of(body.get("next")),
                         _maybe_when(body.get("now")))  # fmt: skip

    def dashboard(self, weeks: int = 12) -> Dashboard:
        return Dashboard.of(self.get("/v1/dashboard", {"weeks": weeks}))

    def metrics_7102(self, year: int) -> Metrics7102:
        return Metrics7102.of(self.get("/v1/metrics/7102", {"year": year}))

    def timeline(self, request_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.get(f"/v1/requests/{request_id}/timeline")
        return found

    def consent_history(self, subject_key: str) -> list[ConsentChange] | None:
        """The subject's consent changes, oldest first (at most HISTORY_PAGES pages); None when none is recorded."""
        changes: list[ConsentChange] = []
        cursor: str | None = None
        for _page in range(HISTORY_PAGES):
            try:
                body = self.get(f"/v1/subjects/{subject_key}/consent", {"limit": HISTORY_PAGE, "cursor": cursor})
            except ServiceRefused as refused:
                if refused.status_code == 404 and cursor is None:
                    return None
                raise
            changes += [ConsentChange(str(c["event_id"]), c.get("request_id"), _when(c["occurred_at"]),
                                      str(c.get("producer") or ""), dict(c.get("details") or {}))
                        for c in body.get("changes") or []]  # fmt: skip
            cursor = body.get("next_cursor")
            if not cursor:
                break
        return changes


def cursor_of(following: str | None) -> str | None:
    """The cursor of the next page from audit's `next`: the cursor itself, or a link carrying it as `cursor`."""
    if not following:
        return None
    if "?" not in following and "/" not in following:
        return following
    found = parse_qs(urlsplit(following).query).get("cursor")
    return found[0] if found else None


def _counts(by_type: dict[str, Any] | None) -> dict[str, int]:
    return {str(name): int(n or 0) for name, n in (by_type or {}).items()}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _maybe_when(text: str | None) -> datetime | None:
    return _when(text) if text else None


def _maybe_int(value: Any) -> int | None:
    return None if value is None else int(value)
