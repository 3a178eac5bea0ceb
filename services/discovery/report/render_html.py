"""The report as one standalone HTML page: inline CSS, no script, no external asset, every value escaped."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.common.datamap import CATEGORY_NAMES
from services.discovery.report.model import FORMAT_VERSION, Piece, Report, iso
from services.discovery.report.texts import EMPTY, RELATION_NAMES, SECTIONS, WITHHELD_MARKER, plural
from services.discovery.report.values import as_text

TEMPLATES = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_html(report: Report) -> bytes:
    template = environment.get_template("report.html.j2")
    page = template.render(
        report=report,
        format_version=FORMAT_VERSION,
        sections=SECTIONS,
        empty=EMPTY,
        category_names=CATEGORY_NAMES,
        relation_names=RELATION_NAMES,
        iso=iso,
        plural=plural,
        piece_text=piece_text,
    )
    return page.encode("utf-8")


def piece_text(piece: Piece) -> str:
    return WITHHELD_MARKER if piece.withheld else as_text(piece.value)
