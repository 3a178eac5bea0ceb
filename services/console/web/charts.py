"""The dashboard's figures shaped for its charts (static/dashboard.js draws them with Chart.js) and its tables: the
same numbers in both, so a screen reader or a browser without JavaScript reads what the chart shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.console.clients.audit import Dashboard, Metrics7102, Week
from services.console.web import words


@dataclass(frozen=True)
class Series:
    label: str
    values: list[int]
    tone: str  # the colour dashboard.js gives it: received, answered, denied


@dataclass(frozen=True)
class Chart:
    """A bar chart: one group of bars per label, one bar per series."""

    title: str
    labels: list[str]
    series: list[Series]

    def data(self) -> dict[str, Any]:
        """What the page puts in its <script type="application/json"> for dashboard.js."""
        return {"title": self.title, "labels": self.labels,
                "series": [{"label": s.label, "values": s.values, "tone": s.tone} for s in self.series]}  # fmt: skip


def week_label(week_start: str) -> str:
    """'Mar 2' for the week starting Monday 2026-03-02; the text as audit gave it when it is no date."""
    try:
        day = date.fromisoformat(week_start)
    except ValueError:
        return week_start
    return f"{day:%b} {day.day}"


def throughput(weeks: list[Week]) -> Chart:
    return Chart("Requests received and answered per week", [week_label(w.week_start) for w in weeks],
                 [Series("Received", [w.received for w in weeks], "received"),
                  Series("Answered", [w.answered for w in weeks], "answered")])  # fmt: skip


def metrics(table: Metrics7102) -> Chart:
    lines = table.lines
    return Chart(f"§7102 requests of {table.year} by type", [words.request_type(li.request_type) for li in lines],
                 [Series("Received", [li.received for li in lines], "received"),
                  Series("Complied with in whole or in part", [li.complied_in_whole_or_in_part for li in lines],
                         "answered"),
                  Series("Denied", [li.denied for li in lines], "denied")])  # fmt: skip


@dataclass(frozen=True)
class TypeRow:
    request_type: str
    overdue: int
    due_this_week: int


def by_type(dashboard: Dashboard) -> list[TypeRow]:
    """Overdue and due this week per request type, the types with any first by the most overdue; a total last."""
    names = sorted(set(dashboard.overdue_by_type) | set(dashboard.due_this_week_by_type),
                   key=lambda name: (-dashboard.overdue_by_type.get(name, 0), words.request_type(name)))  # fmt: skip
    rows = [TypeRow(words.request_type(name), dashboard.overdue_by_type.get(name, 0),
                    dashboard.due_this_week_by_type.get(name, 0)) for name in names]  # fmt: skip
    return [*rows, TypeRow("All types", sum(r.overdue for r in rows), sum(r.due_this_week for r in rows))]
