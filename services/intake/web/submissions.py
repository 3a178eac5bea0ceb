"""What the request forms do: a valid form becomes a pending submission and a code e-mail; the right code turns it
into a request (the e-mail's control proven, its code e-mails on the timeline); opt-outs need no code (§7060(b))."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import Request

from services.common.events import Event
from services.common.identity import IdentifierKind
from services.common.metrics import GPC_SIGNALS, REQUESTS_ACCEPTED
from services.intake.agent_permissions import AgentPermissions
from services.intake.api_models import SubmitRequest
from services.intake.codes import CodeCheck
from services.intake.mail.smtp import SmtpMailer
from services.intake.pending import Pending, PendingSubmissions, notice_events
from services.intake.status_links import StatusLink
from services.intake.web.abuse import Action, Captcha, RateLimits
from services.intake.web.center import PrivacyCenter
from services.intake.web.code_mail import CodeMailer

_building = threading.Lock()


@dataclass(frozen=True)
class Confirmed:
    check: CodeCheck
    pending: Pending
    status_token: str | None = None


class FormSubmissions:
    def __init__(self, center: PrivacyCenter) -> None:
        settings, service = center.settings, center.intake.service
        self.center = center
        self.service = service
        smtp = settings.smtp()
        secret = settings.subject_key_bytes()
        self.pending = PendingSubmissions(
            service.engine,
            service.sealer,
            secret,
            timedelta(minutes=settings.verify_code_minutes),
            settings.verify_code_tries,
        )
        self.mail = CodeMailer(
            SmtpMailer(smtp) if smtp else None,
            center.business,
            f"{settings.public_base_url.rstrip('/')}/privacy/",
            settings.verify_code_minutes,
        )
        self.permissions = AgentPermissions(service.engine, service.sealer)
        self.limits = RateLimits.from_settings(settings)
        self.captcha = Captcha(settings)

    def subject_key(self, body: SubmitRequest) -> str:
        return self.service.subject_of(body.identifiers.given()).subject_key

    def start(self, body: SubmitRequest, address: str | None, now: datetime) -> str:
        """A pending submission and its first code e-mail (sent or not: the verify page tells); its link token."""
        subject_key = self.subject_key(body)
        self.limits.hit(Action.FORM, None, subject_key)
        self.limits.hit(Action.CODE_SENT, address, subject_key)
        pending_id, token, code = self.pending.create(body, subject_key, now)
        self._send(pending_id, body, code, 1, now)
        return token

    def resend(self, pending: Pending, address: str | None, now: datetime) -> None:
        self.limits.hit(Action.CODE_SENT, address, pending.subject_key)
        body = self.pending.body_of(pending)
        code = self.pending.renew_code(pending.pending_id, now)
        self._send(pending.pending_id, body, code, pending.codes_sent + 1, now)

    def confirm(self, token: str, typed: str, gpc: bool, now: datetime) -> Confirmed | None:
        """Check the code; the right one submits the request (once, however often it is sent)."""
        tried = self.pending.try_code(token, typed, now)
        if tried is None:
            return None
        check, pending = tried
        if check is not CodeCheck.RIGHT:
            return Confirmed(check, pending)
        if pending.request_id is None:
            body = self.pending.body_of(pending)
            self._submit(body, gpc, now, self.pending.idempotency_key(pending), pending)
            pending = self.pending.find(token) or pending
        return Confirmed(check, pending, self.pending.status_token(pending))

    def submit_directly(self, body: SubmitRequest, gpc: bool, now: datetime) -> str | None:
        """An agent's opt-out, limit or opt-in: no code is ever asked (§7060(b)); the status link's token."""
        return self._submit(body, gpc, now, None, None)

    def _submit(
        self, body: SubmitRequest, gpc: bool, now: datetime, key: str | None, pending: Pending | None
    ) -> str | None:
        reference = body.authorized_agent.permission_reference if body.authorized_agent else None

        def also(conn: sa.Connection, request_id: str, link: StatusLink) -> list[tuple[str, Event]]:
            if reference:
                self.permissions.link(conn, reference, request_id)
            if pending is None:
                return []
            self.pending.mark_submitted(conn, pending, request_id, link)
            return notice_events(self.service.topics, pending, request_id)

        proven = frozenset({IdentifierKind.EMAIL}) if pending is not None else frozenset()
        accepted = self.service.submit(body, gpc, key, now, proven=proven, also=also)
        if not accepted.replayed:
            self.center.intake.relay.wakeup.set()
            REQUESTS_ACCEPTED.labels(body.type.value, body.channel.value).inc()
            GPC_SIGNALS.inc(gpc)
        return accepted.status_link.token if accepted.status_link else None

    def _send(self, pending_id: str, body: SubmitRequest, code: str, attempt: int, now: datetime) -> None:
        email = _email_of(body)
        delivery = self.mail.send(
            email,
            body.type.value,
            body.authorized_agent is not None,
            code,
            attempt,
            self.pending.recipient_key(email),
            now,
        )
        self.pending.record_delivery(pending_id, delivery)


def _email_of(body: SubmitRequest) -> str:
    assert body.identifiers.email is not None  # every form asks for it
    return body.identifiers.email


def forms_of(request: Request) -> FormSubmissions:
    """The app's one FormSubmissions, built on first use from its privacy center."""
    state = request.app.state
    with _building:
        if getattr(state, "privacy_forms", None) is None:
            state.privacy_forms = FormSubmissions(state.privacy_center)
    forms: FormSubmissions = state.privacy_forms
    return forms
