"""The report as a letter to the consumer, one standalone HTML page: inline CSS, no script, nothing from another
host, every value escaped; the words come from letter.py, the business identity from the Letterhead."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.common import pacific
from services.discovery.report import letter
from services.discovery.report.letter import Letterhead
from services.discovery.report.model import FORMAT_VERSION, Report
from services.discovery.report.texts import NOT_RECEIVED, NOT_SEARCHED_PLAIN, RELATION_PLAIN, WITHHELD_PLAIN, plural

TEMPLATES = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_html(report: Report, letterhead: Letterhead | None = None) -> bytes:
    """Without a letterhead the letter names the data map's business and gives no contact details."""
    template = environment.get_template("report.html.j2")
    page = template.render(
        report=report,
        letterhead=letterhead or Letterhead(report.business),
        format_version=FORMAT_VERSION,
        letter=letter,
        pacific=pacific,
        plural=plural,
        categories=letter.categories(report),
        groups=letter.groups(report),
        withheld=letter.withheld_kinds(report),
        relations=RELATION_PLAIN,
        nothing=NOT_RECEIVED,
        withheld_plain=WITHHELD_PLAIN,
        not_searched_plain=NOT_SEARCHED_PLAIN,
    )
    return page.encode("utf-8")
