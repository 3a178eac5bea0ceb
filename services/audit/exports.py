"""The §7102 figures read from audit's tables, and rendered for people and for files: JSON, CSV, HTML, a table."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from rich.table import Table

from services.audit import orm
from services.audit.metrics7102 import RequestFacts, SignalOptOut, SignalOptOuts, figures
from services.audit.records import start_of_day
from services.common.event_types import EventType

METRICS_COLUMNS = (
    "year", "request_type", "received", "complied_in_whole_or_in_part", "denied", "denial_reasons", "pending",
    "median_days_to_respond", "mean_days_to_respond", "signal_opt_outs",
)  # fmt: skip
environment = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                          keep_trailing_newline=True)  # fmt: skip


def metrics_of_year(conn: sa.Connection, year: int, counting: SignalOptOuts) -> dict[str, Any]:
    """The §7102 table of one Los Angeles calendar year from the records and the signal-only opt-outs."""
    start, end = start_of_day(date(year, 1, 1)), start_of_day(date(year + 1, 1, 1))
    return figures(year, _requests(conn, start, end), _signals(conn, start, end), counting)


def _requests(conn: sa.Connection, start: datetime, end: datetime) -> list[RequestFacts]:
    records = orm.request_records.c
    rows = conn.execute(
        sa.select(records.request_type, records.received_at, records.responded_at, records.response_nature,
                  records.denial_code)
        .where(records.received_at >= start, records.received_at < end, records.request_type.is_not(None))
    ).all()  # fmt: skip
    return [RequestFacts(*row) for row in rows]


def _signals(conn: sa.Connection, start: datetime, end: datetime) -> list[SignalOptOut]:
    """ConsentChanged entries about no request that opt out of sale or sharing: a signal without a request."""
    timeline = orm.timeline.c
    rows = conn.execute(
        sa.select(timeline.occurred_at, timeline.details).where(
            timeline.event_type == EventType.CONSENT_CHANGED.value, timeline.request_id.is_(None),
            timeline.occurred_at >= start, timeline.occurred_at < end)
    ).all()  # fmt: skip
    return [SignalOptOut(row.occurred_at, _effective(row.details, row.occurred_at)) for row in rows
            if row.details.get("sale_opt_out") or row.details.get("share_opt_out")]  # fmt: skip


def _effective(details: dict[str, Any], occurred_at: datetime) -> datetime:
    effective = details.get("effective_at")
    return datetime.fromisoformat(effective) if isinstance(effective, str) else occurred_at


def to_json(table: dict[str, Any]) -> str:
    return json.dumps(table, indent=2, ensure_ascii=False) + "\n"


def to_csv(table: dict[str, Any]) -> str:
    """One row per line of the table; denial reasons as `code=count` joined by `;`; how signals were counted."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=METRICS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in table["lines"]:
        reasons = ";".join(f"{code}={count}" for code, count in line["denial_reasons"].items())
        writer.writerow({**line, "year": table["year"], "denial_reasons": reasons,
                         "signal_opt_outs": table["signal_opt_outs"]["counting"]})  # fmt: skip
    return out.getvalue()


def to_html(table: dict[str, Any]) -> str:
    """A self-contained page (inline CSS, no script, no external asset) for the privacy policy's metrics link."""
    return environment.get_template("metrics7102.html.j2").render(table=table)


def to_rich(table: dict[str, Any]) -> Table:
    """The table for a terminal (`make run`), its caption saying how signals and days were counted."""
    shown = Table(title=f"CCPA §7102 metrics, {table['year']}",
                  caption=f"{table['signal_opt_outs']['said'].capitalize()}. Days to respond: Los Angeles calendar "
                          "days from receipt to response, median and mean over the answered requests.")  # fmt: skip
    for header in ("request type", "received", "complied (whole or part)", "denied", "denial reasons", "pending",
                   "median days", "mean days"):  # fmt: skip
        shown.add_column(header, justify="left" if header in ("request type", "denial reasons") else "right")
    for line in table["lines"]:
        reasons = ", ".join(f"{code} {count}" for code, count in line["denial_reasons"].items())
        shown.add_row(line["request_type"], str(line["received"]), str(line["complied_in_whole_or_in_part"]),
                      str(line["denied"]), reasons or "-", str(line["pending"]),
                      _days(line["median_days_to_respond"]), _days(line["mean_days_to_respond"]))  # fmt: skip
    return shown


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
