"""The queue page's query string: the filters (checked, each problem named), the paging trail of cursors (so
"previous page" works without a server-side session) and the links that apply a filter or turn a page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from services.common.contracts import CHANNELS
from services.common.request_types import RequestType
from services.console.clients.audit import QueueCounts, QueueQuery
from services.console.web import words

TYPES = ("know", *(kind.value for kind in RequestType))
STATUSES = {"open": "Open", "overdue": "Overdue", "awaiting_review": "Awaiting review", "answered": "Answered",
            "all": "All"}  # fmt: skip
MAX_DUE_WITHIN_DAYS = 400
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
MAX_TRAIL = 20  # previous pages remembered in the query string; older ones are reached from the first page
FIRST_PAGE = "-"  # the trail's mark for the first page (which has no cursor)
MAX_CURSOR = 500


@dataclass(frozen=True)
class Filters:
    request_type: str | None = None
    status: str | None = None
    channel: str | None = None
    due_within_days: int | None = None
    page_size: int | None = None  # requests per page (`per_page`); None: DEFAULT_PAGE_SIZE

    def params(self) -> list[tuple[str, str]]:
        named = (("type", self.request_type), ("status", self.status), ("channel", self.channel),
                 ("due_within_days", None if self.due_within_days is None else str(self.due_within_days)),
                 ("per_page", None if self.page_size is None else str(self.page_size)))  # fmt: skip
        return [(name, value) for name, value in named if value is not None]

    def query(self, cursor: str | None) -> QueueQuery:
        return QueueQuery(self.request_type, self.status, self.channel, self.due_within_days, cursor,
                          self.page_size or DEFAULT_PAGE_SIZE)  # fmt: skip


@dataclass(frozen=True)
class Paging:
    cursor: str | None  # this page's start (None: the first page)
    trail: tuple[str, ...]  # the cursors of the pages before it, oldest first (FIRST_PAGE for the first)

    @property
    def number(self) -> int:
        return len(self.trail) + 1


@dataclass(frozen=True)
class QueueView:
    filters: Filters
    paging: Paging
    problems: list[str]


def parse(params: Mapping[str, str], trail: Sequence[str]) -> QueueView:
    """The filters and the page from the query string; a value out of its rule is dropped and named."""
    problems: list[str] = []
    request_type = _one_of(params.get("type"), TYPES, "Type", problems)
    status = _one_of(params.get("status"), tuple(STATUSES), "Status", problems)
    channel = _one_of(params.get("channel"), tuple(sorted(CHANNELS)), "Channel", problems)
    due = _whole(params.get("due_within_days"), 0, MAX_DUE_WITHIN_DAYS, "“Due within” (days)", problems)
    size = _whole(params.get("per_page"), 1, MAX_PAGE_SIZE, "Requests per page", problems)
    cursor = _cursor(params.get("cursor"))
    kept = tuple(mark for mark in (_mark(mark) for mark in trail) if mark)[-MAX_TRAIL:]
    filters = Filters(request_type, status, channel, due, size)
    return QueueView(filters, Paging(cursor, kept if cursor else ()), problems)


def link(filters: Filters, cursor: str | None = None, trail: Sequence[str] = ()) -> str:
    paging = [("cursor", cursor)] if cursor else []
    params = [*filters.params(), *paging, *(("trail", mark) for mark in trail)]
    return f"/queue?{urlencode(params)}" if params else "/queue"


def next_link(view: QueueView, next_cursor: str | None) -> str | None:
    if not next_cursor:
        return None
    trail = (*view.paging.trail, view.paging.cursor or FIRST_PAGE)[-MAX_TRAIL:]
    return link(view.filters, next_cursor, trail)


def previous_link(view: QueueView) -> str | None:
    if view.paging.cursor is None:
        return None
    *before, last = view.paging.trail or (FIRST_PAGE,)
    return link(view.filters, None if last == FIRST_PAGE else last, before)


def first_link(view: QueueView) -> str | None:
    return link(view.filters) if view.paging.cursor is not None else None


@dataclass(frozen=True)
class CountLink:
    label: str
    count: int
    href: str
    current: bool
    tone: str  # the state's colour class, beside the words


def count_links(filters: Filters, counts: QueueCounts) -> list[CountLink]:
    """The counts, each a link to the queue filtered to it (keeping the type and channel the counts are for)."""
    kept = Filters(filters.request_type, None, filters.channel, page_size=filters.page_size)
    targets = (("Open", counts.open, replace(kept, status="open"), "neutral"),
               ("Overdue", counts.overdue, replace(kept, status="overdue"), "overdue"),
               ("Due within 7 days", counts.due_within_7_days, replace(kept, status="open", due_within_days=7),
                "due_soon"),
               ("Awaiting review", counts.awaiting_review, replace(kept, status="awaiting_review"), "awaiting_review"),
               ("Answered", counts.answered, replace(kept, status="answered"), "answered"))  # fmt: skip
    return [CountLink(label, count, link(target), _same(filters, target), tone)
            for label, count, target, tone in targets]  # fmt: skip


def described(filters: Filters) -> str:
    """The filters in words, for the page's heading: 'Overdue · Delete · due within 7 days'."""
    parts = [STATUSES.get(filters.status or "open", "Open")]
    if filters.request_type:
        kind = filters.request_type
        parts.append("Know (both kinds)" if kind == "know" else words.request_type(kind))
    if filters.channel:
        parts.append(words.channel(filters.channel))
    if filters.due_within_days is not None:
        parts.append(f"due within {filters.due_within_days} day{'s' if filters.due_within_days != 1 else ''}")
    return " · ".join(parts)


def _same(filters: Filters, target: Filters) -> bool:
    return replace(filters, status=filters.status or "open") == target


def _one_of(value: str | None, allowed: Sequence[str], name: str, problems: list[str]) -> str | None:
    if not value:
        return None
    if value in allowed:
        return value
    problems.append(f"{name} must be one of the choices in the list; that filter was left out.")
    return None


def _whole(value: str | None, low: int, high: int, name: str, problems: list[str]) -> int | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    problems.append(f"{name} must be a whole number from {low} to {high}; it was left out.")
    return None


def _cursor(value: str | None) -> str | None:
    """A cursor as audit gave it (opaque, printable, short); anything else is treated as none."""
    if not value or value == FIRST_PAGE or len(value) > MAX_CURSOR or not value.isprintable():
        return None
    return value


def _mark(value: str) -> str | None:
    return FIRST_PAGE if value == FIRST_PAGE else _cursor(value)
