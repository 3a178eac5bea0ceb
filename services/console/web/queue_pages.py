"""The queue: every request, filtered by type, status, channel and due date, with the counts, sorted by due date,
a page at a time (audit's GET /v1/queue). `/` is the queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.common.pacific import long_date, moment_text
from services.console.clients.audit import QueueItem, QueuePage
from services.console.clients.base import ServiceRefused, ServiceUnavailable
from services.console.web import problems, queue_view, words
from services.console.web.deps import Viewer
from services.console.web.templating import render

router = APIRouter()


@dataclass(frozen=True)
class Row:
    """One request of the queue as the table shows it."""

    request_id: str
    href: str
    request_type: str
    channel: str
    received: str
    due: str
    extended: bool
    days_left: str
    state: str
    state_words: str

    @classmethod
    def of(cls, item: QueueItem) -> Row:
        return cls(item.request_id, f"/requests/{item.request_id}", words.request_type(item.request_type),
                   words.channel(item.channel), moment_text(item.received_at), long_date(item.due_at), item.extended,
                   words.days_left(item.days_left, item.state), item.state, words.state(item.state))  # fmt: skip


@router.get("/", include_in_schema=False)
def home(_me: Viewer) -> RedirectResponse:
    """The console opens on the queue."""
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, me: Viewer) -> HTMLResponse:
    """The queue page (any role)."""
    view = queue_view.parse(request.query_params, request.query_params.getlist("trail"))
    context: dict[str, Any] = {"view": view, "choices": choices(), "heading": queue_view.described(view.filters)}
    try:
        page: QueuePage = request.app.state.console.services.audit.queue(view.filters.query(view.paging.cursor))
    except (ServiceUnavailable, ServiceRefused) as problem:
        return render(request, "queue.html.j2", status_code=problems.status_of(problem), me=me, nav="queue",
                      unavailable=problems.told(problem), page=None, rows=[], counts=[], links={},
                      **context)  # fmt: skip
    links = {"next": queue_view.next_link(view, page.next_cursor), "previous": queue_view.previous_link(view),
             "first": queue_view.first_link(view)}  # fmt: skip
    return render(request, "queue.html.j2", me=me, nav="queue", unavailable=None, page=page,
                  rows=[Row.of(item) for item in page.items], counts=queue_view.count_links(view.filters, page.counts),
                  links=links, **context)  # fmt: skip


def choices() -> dict[str, Any]:
    """The filters' options, as (value, words); the empty value is "any"."""
    types = [("know", "Know (both kinds)"), *((name, words.request_type(name)) for name in queue_view.TYPES[1:])]
    channels = sorted(((name, words.channel(name)) for name in words.CHANNELS), key=lambda choice: choice[1])
    return {"type": types, "status": list(queue_view.STATUSES.items()), "channel": channels, "per_page": page_sizes}


def page_sizes(current: int | None) -> list[int]:
    """The usual page sizes, and the one in use if it is another (a link may carry any size from 1 to 200)."""
    return sorted({25, 50, 100, 200} | ({current} if current else set()))
