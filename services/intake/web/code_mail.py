"""The verification-code e-mail: plain text and HTML from templates/mail/, sent through SmtpMailer; its outcome is
kept (as a Delivery) for the NoticeSent the request's timeline gets."""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage

from jinja2 import Environment, StrictUndefined

from services.intake.business import Business
from services.intake.mail.smtp import DeliveryFailed, SmtpMailer
from services.intake.pending import Delivery
from services.intake.web.templating import environment
from services.intake.web.texts import REQUEST_TYPE_VERBS

TEMPLATE = "verification_code"
TEMPLATE_VERSION = "2026-12"  # a new wording gets a new version: the timeline names what the consumer was sent
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_.:-]+")
# The text part is not HTML: nothing to escape there ("Smith & Co." stays as written).
_TEXT = Environment(loader=environment.loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)


def code_message(
    business: Business, center_url: str, request_type: str, agent: bool, code: str, minutes: int
) -> EmailMessage:
    context = {
        "business": business,
        "center_url": center_url,
        "verb": REQUEST_TYPE_VERBS[request_type],
        "agent": agent,
        "code": code,
        "minutes": minutes,
    }
    message = EmailMessage()
    message["Subject"] = f"Your code for {business.name}: {code}"
    message.set_content(_TEXT.get_template(f"mail/{TEMPLATE}.txt.j2").render(**context))
    message.add_alternative(environment.get_template(f"mail/{TEMPLATE}.html.j2").render(**context), subtype="html")
    return message


def detail_name(failure: DeliveryFailed) -> str:
    """The failure as a machine name for the timeline ("recipient refused (SMTP 550)" -> recipient_refused_SMTP_550)."""
    return _NOT_A_NAME.sub("_", failure.detail).strip("_")[:64] or "failed"


class CodeMailer:
    """Sends codes; `mailer` None means consumer e-mail is off (every send fails, and the page says so)."""

    def __init__(self, mailer: SmtpMailer | None, business: Business, center_url: str, minutes: int) -> None:
        self.mailer = mailer
        self.business = business
        self.center_url = center_url
        self.minutes = minutes

    def send(
        self, to: str, request_type: str, agent: bool, code: str, attempt: int, recipient_key: str, now: datetime
    ) -> Delivery:
        message = code_message(self.business, self.center_url, request_type, agent, code, self.minutes)
        message["To"] = to
        outcome, detail, message_id = "sent", None, None
        try:
            if self.mailer is None:
                raise DeliveryFailed("mail is not configured", temporary=False)
            message_id = self.mailer.send(message)
        except DeliveryFailed as failure:
            outcome, detail = "failed", detail_name(failure)
        return Delivery(attempt, outcome, detail, message_id, now, TEMPLATE, TEMPLATE_VERSION, recipient_key)
