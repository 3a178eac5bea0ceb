"""Renders a notice from its template (Jinja2; the HTML part autoescaped) into a multipart/alternative e-mail: a
plain-text part and an HTML part, addressed to the consumer alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2

from services.common.request_types import RequestType
from services.intake import wording
from services.intake.business import Business
from services.intake.mail.templates import template_for

TEMPLATE_DIR = Path(__file__).parent / "templates"
_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def compose(notice: str, context: Mapping[str, Any], recipient: str, business: Business) -> EmailMessage:
    """The e-mail of `notice` for `context` (what the enqueueing event said), to `recipient`."""
    template = template_for(notice)
    words = {"business": asdict(business), **context, **_words(context)}
    message = EmailMessage()
    message["To"] = recipient
    message["Subject"] = template.subject.format(business=business.name)
    message["Reply-To"] = business.contact_email
    message.set_content(_ENVIRONMENT.get_template(f"{template.name}.txt.j2").render(words))
    message.add_alternative(_ENVIRONMENT.get_template(f"{template.name}.html.j2").render(words), subtype="html")
    return message


def _words(context: Mapping[str, Any]) -> dict[str, Any]:
    request_type = str(context["request_type"])
    words: dict[str, Any] = {
        "request_name": wording.request_name(request_type),
        "next_steps": wording.next_steps(request_type),
        "opt_out_family": RequestType(request_type).is_opt_out_family,
    }
    for field in ("respond_by", "previous_respond_by", "expires_at"):
        words[f"{field}_date"] = wording.pacific_date(context[field]) if context.get(field) else None
    if outcome := context.get("outcome"):
        status = "denied" if outcome == "denied" else "completed"
        told = wording.answer(request_type, status, str(outcome), context.get("denial_code"))
        if reason := context.get("review_reason"):  # the answer was withdrawn by its review before it was sent
            told = wording.withheld(str(reason))
        words["answer"] = " ".join(told.sentences) if told else ""
    return words
