"""The right-to-know report (§1798.110, §7024): built from discovery's findings, rendered as JSON, CSV zip or as an
HTML letter to the consumer."""

from __future__ import annotations

import re
from collections.abc import Callable

from services.discovery.report.build import build_report
from services.discovery.report.letter import Letterhead
from services.discovery.report.model import FORMAT_VERSION, Report, ReportRequest, StoreOutcome
from services.discovery.report.render_csv import render_csv
from services.discovery.report.render_html import render_html
from services.discovery.report.render_json import render_json

Renderer = Callable[[Report], bytes]
FORMATS: dict[str, tuple[Renderer, str, str]] = {
    "json": (render_json, "application/json", "json"),
    "csv": (render_csv, "application/zip", "zip"),
    "html": (render_html, "text/html; charset=utf-8", "html"),
}


def render(report: Report, fmt: str, letterhead: Letterhead | None = None) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the report in one of FORMATS; the HTML letter is signed by letterhead."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    renderer, media_type, extension = FORMATS[fmt]
    content = render_html(report, letterhead) if fmt == "html" else renderer(report)
    return content, media_type, f"right-to-know-{_safe(report.request_id)}.{extension}"


def _safe(request_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", request_id)[:64]


__all__ = [
    "FORMATS",
    "FORMAT_VERSION",
    "Letterhead",
    "Report",
    "ReportRequest",
    "StoreOutcome",
    "build_report",
    "render",
]
