"""The report as a zip of CSV files: summary.csv, withheld.csv and one stores/<store>.csv per store with records.

Every text cell that a spreadsheet would read as a formula (= + - @, tab, carriage return) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence

from services.discovery.report.model import FORMAT_VERSION, Piece, Report, StorePieces, iso
from services.discovery.report.texts import RELATION_NAMES, SECTIONS, WITHHELD_MARKER, plural
from services.discovery.report.values import as_text

SUMMARY_COLUMNS = ("section", "item", "categories", "detail")
WITHHELD_COLUMNS = ("store", "collection", "kind", "statement")
STORE_COLUMNS = ("collection", "record", "field", "category", "value")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Row = Sequence[str | int | float]


def render_csv(report: Report) -> bytes:
    files = [("summary.csv", _table(SUMMARY_COLUMNS, summary_rows(report)))]
    if report.specific:
        files.append(("withheld.csv", _table(WITHHELD_COLUMNS, withheld_rows(report))))
        files.extend((f"stores/{store.store}.csv", _table(STORE_COLUMNS, store_rows(store)))
                     for store in report.specific_pieces)  # fmt: skip
    return _zip(files, report)


def guard(cell: str) -> str:
    """A formula-looking text cell is shown as text: '=1+1 instead of 2."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def summary_rows(report: Report) -> Iterator[Row]:
    yield from (("report", item, "", detail) for item, detail in _header(report))
    yield from (("about", section, "", text) for section, text in SECTIONS.items() if report.specific
                or section not in ("withheld", "specific_pieces"))  # fmt: skip
    for found in report.categories:
        sensitive = f"Sensitive: {', '.join(found.sensitive)}. " if found.sensitive else ""
        yield "category", f"{found.code} {found.name}", found.code, f"{sensitive}Examples: {', '.join(found.examples)}."
    yield from (("source", origin.name, _codes(origin.categories), "") for origin in report.sources)
    yield from (("purpose", origin.name, _codes(origin.categories), "") for origin in report.purposes)
    for to in report.recipients:
        relation = RELATION_NAMES[to.relation].lower()
        yield relation, f"{to.recipient_category} ({to.role})", _codes(to.categories), ""
    for store in report.searched:
        yield "searched", store.store, "", plural(store.records, "record") if store.records else "no records"
    for skipped in report.not_searched:
        where = f"{skipped.store}/{skipped.collection}" if skipped.collection else skipped.store
        yield "not searched", where, "", skipped.reason


def withheld_rows(report: Report) -> Iterator[Row]:
    return ((item.store, item.collection, item.kind_name, item.statement) for item in report.withheld)


def store_rows(store: StorePieces) -> Iterator[Row]:
    for collection in store.collections:
        for record in collection.records:
            for piece in record.pieces:
                yield collection.collection, record.record, piece.label, piece.category or "", _value(piece)


def _header(report: Report) -> list[tuple[str, str]]:
    return [
        ("format version", FORMAT_VERSION),
        ("request id", report.request_id),
        ("request type", report.request_type),
        ("business", report.business),
        ("received at", iso(report.received_at)),
        ("generated at", iso(report.generated_at)),
        ("period start", iso(report.period.start)),
        ("period end", iso(report.period.end)),
        ("summary", report.summary),
    ]


def _value(piece: Piece) -> str | int | float:
    if piece.withheld:
        return WITHHELD_MARKER
    value = piece.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value  # a number is never a formula, so -5 stays -5
    return as_text(value)


def _codes(codes: Iterable[str]) -> str:
    return "; ".join(codes)


def _table(columns: Sequence[str], rows: Iterable[Row]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([guard(cell) if isinstance(cell, str) else cell for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _zip(files: Sequence[tuple[str, bytes]], report: Report) -> bytes:
    moment = max(report.generated_at.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files:
            entry = zipfile.ZipInfo(name, date_time=moment)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, content)
    return buffer.getvalue()
