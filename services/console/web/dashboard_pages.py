"""The dashboard: overdue and due this week by type, throughput per week, the §7102 table of a year, recipients'
and downstream confirmation backlogs and the dead-letter queue's size."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.common.events import utcnow
from services.common.pacific import PACIFIC
from services.console.clients.audit import AuditClient
from services.console.clients.base import ServiceRefused, ServiceUnavailable
from services.console.web import charts, problems
from services.console.web.deps import Viewer
from services.console.web.templating import render

router = APIRouter()

FIRST_YEAR = 2020  # audit's §7102 API answers 2020 to 2100
WEEKS = 12


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, me: Viewer) -> HTMLResponse:
    """The dashboard page (any role)."""
    console = request.app.state.console
    audit: AuditClient = console.services.audit
    this_year = utcnow().astimezone(PACIFIC).year
    year, year_problem = year_of(request.query_params.get("year"), this_year)
    context: dict[str, Any] = {"year": year, "years": list(range(this_year, FIRST_YEAR - 1, -1)),
                               "year_problem": year_problem, "dlq": console.dead_letters.size()}  # fmt: skip
    try:
        board = audit.dashboard(WEEKS)
        context |= {"board": board, "board_problem": None, "by_type": charts.by_type(board),
                    "throughput": charts.throughput(board.throughput)}  # fmt: skip
    except (ServiceUnavailable, ServiceRefused) as problem:
        context |= {"board": None, "board_problem": problems.told(problem), "by_type": [], "throughput": None}
    try:
        table = audit.metrics_7102(year)
        context |= {"metrics": table, "metrics_problem": None, "metrics_chart": charts.metrics(table)}
    except (ServiceUnavailable, ServiceRefused) as problem:
        context |= {"metrics": None, "metrics_problem": problems.told(problem), "metrics_chart": None}
    return render(request, "dashboard.html.j2", me=me, nav="dashboard", **context)


def year_of(text: str | None, this_year: int) -> tuple[int, str | None]:
    """The year asked for (this year when none); out of range or not a year: this year, and the problem named."""
    if not text:
        return this_year, None
    if text.strip().isdigit() and FIRST_YEAR <= int(text) <= this_year:
        return int(text), None
    return this_year, f"The year must be from {FIRST_YEAR} to {this_year}; showing {this_year}."
