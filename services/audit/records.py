"""The §7101 records an auditor reads: one per request audit saw submitted, filtered by date of receipt (Los Angeles
calendar dates), type and status, in a stable order (received, then request id) read page by page with a cursor."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from services.audit import orm
from services.common.clocks import BUSINESS_TZ, receipt_day
from services.common.request_types import RequestType

EARLIEST_DAY = date(2020, 1, 1)  # the CCPA took effect: no request was received before
LATEST_DAY = date(9999, 12, 30)  # the day after it is still a date
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
KNOW_TYPES = (RequestType.KNOW_CATEGORIES.value, RequestType.KNOW_SPECIFIC.value)
# `type=`: a request type, or `know` for both kinds of know request.
TYPE_FILTERS: Mapping[str, tuple[str, ...]] = {kind.value: (kind.value,) for kind in RequestType} | {"know": KNOW_TYPES}
RESPONSE_NATURES = ("complied", "complied_in_part", "denied", "denied_in_part")
STATUS_FILTERS = ("open", "responded", *RESPONSE_NATURES)
# The record's fields in export order: the API's items, the JSON export's and the CSV's columns.
FIELDS = (
    "request_id", "date_received", "received_on", "nature", "requested_nature", "manner", "due_at_original",
    "due_at_extended", "extended_at", "date_of_response", "nature_of_response", "denial_code", "basis_for_denial",
    "verification_level", "authorized_agent", "agent_name", "agent_permission_reference", "declaration_signed",
    "declaration_signed_at", "declaration_text_version", "subject_type",
)  # fmt: skip


class BadRecordQuery(ValueError):
    """A records query parameter out of its rule; `parameter` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this record in (instant, request_id) order (the records' date of receipt,
    the queue's due date)."""

    instant: datetime
    request_id: str

    def encode(self) -> str:
        raw = json.dumps([self.instant.isoformat(), self.request_id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            received, request_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            cursor = cls(datetime.fromisoformat(received), str(request_id))
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise BadRecordQuery("cursor", "not a cursor this API gave out; use the `next` link as given") from None
        if cursor.instant.utcoffset() is None:
            raise BadRecordQuery("cursor", "not a cursor this API gave out; use the `next` link as given")
        return cursor


@dataclass(frozen=True)
class RecordQuery:
    """Which records: received on LA dates `received_from`..`received_to` (inclusive), of a type, in a status."""

    received_from: date | None = None
    received_to: date | None = None
    request_type: str | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        for parameter, day in (("from", self.received_from), ("to", self.received_to)):
            if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
                raise BadRecordQuery(parameter, f"must be a date from {EARLIEST_DAY} to {LATEST_DAY}")
        if self.received_from and self.received_to and self.received_to < self.received_from:
            raise BadRecordQuery("to", "must not be before from")
        if self.request_type is not None and self.request_type not in TYPE_FILTERS:
            raise BadRecordQuery("type", f"must be one of {', '.join(TYPE_FILTERS)}")
        if self.status is not None and self.status not in STATUS_FILTERS:
            raise BadRecordQuery("status", f"must be one of {', '.join(STATUS_FILTERS)}")


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: Cursor | None


def start_of_day(day: date) -> datetime:
    """Midnight Los Angeles time at the start of `day` (the first instant received on that date)."""
    return datetime.combine(day, time.min, tzinfo=BUSINESS_TZ)


def page_size_of(value: int) -> int:
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise BadRecordQuery("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return value


def _conditions(query: RecordQuery) -> list[sa.ColumnElement[bool]]:
    records = orm.request_records.c
    # Only requests audit saw submitted: an answer for an unknown request id leaves a partial row without receipt.
    conditions: list[sa.ColumnElement[bool]] = [records.received_at.is_not(None)]
    if query.received_from:
        conditions.append(records.received_at >= start_of_day(query.received_from))
    if query.received_to:
        conditions.append(records.received_at < start_of_day(query.received_to + timedelta(days=1)))
    if query.request_type:
        conditions.append(records.request_type.in_(TYPE_FILTERS[query.request_type]))
    if query.status == "open":
        conditions.append(records.responded_at.is_(None))
    elif query.status == "responded":
        conditions.append(records.responded_at.is_not(None))
    elif query.status:
        conditions.append(records.response_nature == query.status)
    return conditions


def _ordered(query: RecordQuery) -> sa.Select[Any]:
    records = orm.request_records.c
    select = sa.select(orm.request_records).where(*_conditions(query))
    return select.order_by(records.received_at, records.request_id)


def page(conn: sa.Connection, query: RecordQuery, size: int, after: Cursor | None = None) -> Page:
    """One page of records in (received, request id) order, and the cursor of the next page if there is one."""
    records = orm.request_records.c
    select = _ordered(query)
    if after is not None:
        select = select.where(
            sa.or_(
                records.received_at > after.instant,
                sa.and_(records.received_at == after.instant, records.request_id > after.request_id),
            )
        )
    rows = conn.execute(select.limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1] if more else None
    return Page([record_item(row) for row in rows], Cursor(last.received_at, last.request_id) if last else None)


def every_record(conn: sa.Connection, query: RecordQuery) -> list[dict[str, Any]]:
    """Every matching record, in the API's order: the CLI export."""
    return [record_item(row) for row in conn.execute(_ordered(query))]


def record_item(row: Any) -> dict[str, Any]:
    """One §7101 record as the API and the exports show it: instants in UTC ISO 8601, no consumer identifier."""
    return {
        "request_id": row.request_id,
        "date_received": _iso(row.received_at),
        "received_on": receipt_day(row.received_at).isoformat(),
        "nature": row.request_type,
        "requested_nature": row.requested_type,
        "manner": row.channel,
        "due_at_original": _iso(row.respond_by),
        "due_at_extended": _iso(row.extended_respond_by),
        "extended_at": _iso(row.extended_at),
        "date_of_response": _iso(row.responded_at),
        "nature_of_response": row.response_nature,
        "denial_code": row.denial_code,
        "basis_for_denial": row.denial_basis,
        "verification_level": row.verification_level,
        "authorized_agent": row.authorized_agent,
        "agent_name": row.agent_name,
        "agent_permission_reference": row.agent_permission_reference,
        "declaration_signed": row.declaration_signed,
        "declaration_signed_at": _iso(row.declaration_signed_at),
        "declaration_text_version": row.declaration_text_version,
        "subject_type": row.subject_type or "consumer",
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def to_json(items: Iterable[Mapping[str, Any]]) -> str:
    """The JSON export: a list of records, keys in export order; equal records give equal bytes."""
    return json.dumps(list(items), indent=2, ensure_ascii=False) + "\n"


def to_csv(items: Iterable[Mapping[str, Any]]) -> str:
    """The CSV export: a header of FIELDS, one row per record; empty for null, true/false for flags."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: _cell(value) for key, value in item.items()} for item in items)
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
