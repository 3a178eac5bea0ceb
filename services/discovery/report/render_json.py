"""The report as JSON (docs/report-format.md): stable key order, UTF-8, ISO-8601 times, same input same bytes."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any

from services.discovery.report.model import FORMAT_VERSION, Report, iso
from services.discovery.report.texts import SECTIONS

CATEGORY_SECTIONS = ("categories", "sources", "purposes", "recipients", "searched", "not_searched")
SPECIFIC_SECTIONS = ("withheld", "specific_pieces")


def render_json(report: Report) -> bytes:
    text = json.dumps(document(report), ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def document(report: Report) -> dict[str, Any]:
    sections = CATEGORY_SECTIONS + (SPECIFIC_SECTIONS if report.specific else ())
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "report": "right_to_know",
        "request_id": report.request_id,
        "request_type": report.request_type,
        "business": report.business,
        "received_at": iso(report.received_at),
        "generated_at": iso(report.generated_at),
        "period": {"start": iso(report.period.start), "end": iso(report.period.end)},
        "summary": report.summary,
        "explanations": {section: SECTIONS[section] for section in sections},
    }
    for name in sections:
        doc[name] = _plain(getattr(report, name))
    return doc


def _plain(items: tuple[Any, ...]) -> list[Any]:
    return [asdict(item, dict_factory=_dict) for item in items]


def _dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key: _scalar(value) for key, value in pairs}


def _scalar(value: Any) -> Any:
    if isinstance(value, date):
        return iso(value)
    if isinstance(value, tuple):
        return list(value)
    return value
