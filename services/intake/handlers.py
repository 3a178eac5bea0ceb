"""Intake use cases: accept a submission durably (request row + outbox in one transaction), extend, read."""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.common.clocks import Deadlines, deadlines_for, extend_deadline
from services.common.crypto import Sealed, Sealer, keyed_hash, subject_key_of
from services.common.event_types import EventType
from services.common.events import Event, strictly_after
from services.common.identity import IdentifierKind, normalise_all, primary_identifier
from services.common.outbox import Outbox
from services.common.payloads.consent import ConsentChangedPayload
from services.common.payloads.requests import RequestDeniedPayload, RequestExtendedPayload, RequestSubmittedPayload
from services.common.request_types import RequestDecision, RequestType, acting_services
from services.common.subject_types import SubjectType
from services.common.topics import CONSENT_CHANGES, REQUESTS, TopicNames
from services.intake import orm, reviews
from services.intake.api_models import SubmitRequest
from services.intake.decisions import Decision, acknowledgement, decide
from services.intake.declaration import declaration_evidence
from services.intake.notices import NoticeQueue
from services.intake.status_links import StatusLink, StatusLinks
from services.intake.verification import VerificationResult, Verifier

PRODUCER = "intake"


# Called inside a submission's transaction with its request id and status link: rows of its own, events to publish.
AlsoPersist = Callable[[sa.Connection, str, StatusLink], list[tuple[str, Event]]]


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


class RequestNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Accepted:
    request_id: str
    status: str
    acknowledgement: str
    replayed: bool = False
    status_link: StatusLink | None = None


@dataclass(frozen=True)
class Subject:
    identifiers: dict[IdentifierKind, str]
    subject_key: str


class IntakeService:
    def __init__(
        self,
        engine: sa.Engine,
        outbox: Outbox,
        sealer: Sealer,
        verifier: Verifier,
        subject_secret: bytes,
        topics: TopicNames,
        status_links: StatusLinks,
        notices: NoticeQueue | None = None,
        review_types: frozenset[RequestType] = frozenset(),
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.sealer = sealer
        self.verifier = verifier
        self.subject_secret = subject_secret
        self.topics = topics
        self.status_links = status_links
        self.notices = notices  # None: consumer e-mail is off
        self.review_types = review_types  # CCPA_REVIEW_BEFORE_SEND: their answers wait for a person

    def reviewed(self, row: Mapping[str, Any]) -> bool:
        """An accepted request of a reviewed type: its answer is held until a person decides (a denial on receipt
        is no answer to review)."""
        return RequestType(row["request_type"]) in self.review_types and not row["denial_code"]

    def subject_of(self, identifiers: Mapping[str, str]) -> Subject:
        normalised = normalise_all(identifiers)
        kind, value = primary_identifier(normalised)
        return Subject(normalised, subject_key_of(self.subject_secret, kind, value))

    def submit(
        self,
        body: SubmitRequest,
        gpc: bool,
        idempotency_key: str | None,
        now: datetime,
        proven: frozenset[IdentifierKind] = frozenset(),
        also: AlsoPersist | None = None,
    ) -> Accepted:
        """`proven`: identifiers whose control was proven (verification); `also`: more rows and events written in
        the submission's own transaction (the privacy center's code e-mails, its pending form)."""
        subject = self.subject_of(body.identifiers.given())
        # The body's fingerprint binds an Idempotency-Key: without a key nothing reads it.
        fingerprint = self._keyed(json.dumps(fingerprinted(body), sort_keys=True)) if idempotency_key else ""
        if idempotency_key and (earlier := self._replay(idempotency_key, fingerprint)):
            return earlier
        verification = self.verifier.verify(
            body.type,
            subject.identifiers,
            body.verification.data_points,
            body.verification.signed_declaration,
            proven,
            body.subject_type,
        )
        agent = body.authorized_agent
        decision = decide(body.type, verification, agent is not None and not agent.signed_permission)
        request_id = str(uuid.uuid4())
        deadlines = deadlines_for(decision.request_type, now)
        row = self._request_row(request_id, body, subject, decision, verification, deadlines, gpc)
        events = self._events(row, body, subject, decision, deadlines, gpc)
        try:
            link = self._persist(row, events, idempotency_key, fingerprint, also)
        except sa.exc.IntegrityError:
            if idempotency_key and (earlier := self._replay(idempotency_key, fingerprint)):
                return earlier
            raise
        self._wake_notices()
        return Accepted(request_id, decision.status, acknowledgement(decision, deadlines.respond_by), status_link=link)

    def extend(self, request_id: str, reason: str, now: datetime) -> datetime:
        with self.engine.begin() as conn:
            row = self._row(conn, request_id, lock=True)
            deadlines = Deadlines(row.received_at, None, row.respond_by, row.max_extended_respond_by)
            new_due = extend_deadline(deadlines, row.extended_at is not None, now)
            conn.execute(
                sa.update(orm.requests)
                .where(orm.requests.c.request_id == request_id)
                .values(respond_by=new_due, extended_at=now, extension_reason=reason)
            )
            event = Event(
                EventType.REQUEST_EXTENDED,
                row.subject_key,
                PRODUCER,
                request_id=request_id,
                occurred_at=now,
                payload=RequestExtendedPayload(previous_respond_by=row.respond_by, respond_by=new_due, reason=reason),
            )
            self.outbox.add(conn, self.topics(REQUESTS), [event])
            if self.notices is not None:
                told = {"reason": reason, "respond_by": new_due.isoformat(),
                        "previous_respond_by": row.respond_by.isoformat()}  # fmt: skip
                self.notices.enqueue(conn, row._mapping, "extension", told, now)
        self._wake_notices()
        return new_due

    def get(self, request_id: str, conn: sa.Connection | None = None) -> sa.Row[Any]:
        """The request's row (on `conn` when given, so a status read takes one connection); RequestNotFound."""
        if conn is not None:
            return self._row(conn, request_id, lock=False)
        with self.engine.connect() as own:
            return self._row(own, request_id, lock=False)

    def response_of(self, request_id: str, conn: sa.Connection | None = None) -> sa.Row[Any] | None:
        query = sa.select(orm.responses).where(orm.responses.c.request_id == request_id)
        if conn is not None:
            return conn.execute(query).first()
        with self.engine.connect() as own:
            return own.execute(query).first()

    def _row(self, conn: sa.Connection, request_id: str, lock: bool) -> sa.Row[Any]:
        query = sa.select(orm.requests).where(orm.requests.c.request_id == request_id)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise RequestNotFound(request_id)
        return row

    def _replay(self, idempotency_key: str, fingerprint: str) -> Accepted | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(orm.idempotency_keys).where(orm.idempotency_keys.c.key_hash == self._keyed(idempotency_key))
            ).first()
            if found is None:
                return None
            if not hmac.compare_digest(found.body_hash, fingerprint):
                raise IdempotencyConflict("Idempotency-Key was already used with a different request body")
            request = self._row(conn, found.request_id, lock=False)
        decision = Decision(RequestType(request.request_type), request.status, None)
        ack = (
            acknowledgement(decision, request.respond_by)
            if request.denial_basis is None
            else (f"We received your request and cannot act on it: {request.denial_basis}.")
        )
        return Accepted(request.request_id, request.status, ack, replayed=True)

    def _persist(
        self,
        row: dict[str, Any],
        events: list[tuple[str, Event]],
        idempotency_key: str | None,
        fingerprint: str,
        also: AlsoPersist | None = None,
    ) -> StatusLink:
        with self.engine.begin() as conn:
            conn.execute(sa.insert(orm.requests).values(**row))
            link = self.status_links.issue(conn, row["request_id"], row["received_at"])
            if self.reviewed(row):
                reviews.open_review(conn, row["request_id"], row["received_at"])
            events = [*events, *(also(conn, row["request_id"], link) if also else [])]
            if idempotency_key:
                conn.execute(
                    sa.insert(orm.idempotency_keys).values(
                        key_hash=self._keyed(idempotency_key),
                        body_hash=fingerprint,
                        request_id=row["request_id"],
                        created_at=row["received_at"],
                    )
                )
            for topic, event in events:
                self.outbox.add(conn, topic, [event])
            if self.notices is not None:
                notify_receipt(self.notices, conn, row, link)
        return link

    def _wake_notices(self) -> None:
        if self.notices is not None:
            self.notices.wake()

    def _request_row(
        self,
        request_id: str,
        body: SubmitRequest,
        subject: Subject,
        decision: Decision,
        verification: VerificationResult,
        deadlines: Deadlines,
        gpc: bool,
    ) -> dict[str, Any]:
        sealed = self._seal_identifiers(subject, request_id)
        corrections = self.sealer.seal(body.corrections, subject.subject_key, request_id) if body.corrections else None
        date_range = body.date_range
        return {
            "request_id": request_id,
            "subject_key": subject.subject_key,
            "request_type": decision.request_type.value,
            "requested_type": body.type.value,
            "channel": body.channel.value,
            "status": decision.status,
            "received_at": deadlines.received_at,
            "acknowledged_at": deadlines.received_at if decision.request_type.needs_response_clock else None,
            "respond_by": deadlines.respond_by,
            "max_extended_respond_by": deadlines.max_extended_respond_by,
            "responded_at": deadlines.received_at if decision.denial else None,
            "identifiers_sealed": sealed.to_json(),
            "corrections_sealed": corrections.to_json() if corrections else None,
            "identifier_kinds": sorted(kind.value for kind in subject.identifiers),
            "verification_required": verification.required.value,
            "verification_achieved": verification.achieved.value,
            "verification_outcome": verification.outcome,
            "authorized_agent": body.authorized_agent is not None,
            "gpc": gpc,
            "date_range_start": date_range.start if date_range else None,
            "date_range_end": date_range.end if date_range else None,
            "denial_code": decision.denial.code if decision.denial else None,
            "denial_basis": decision.denial.basis if decision.denial else None,
            "subject_type": body.subject_type.value,
        }

    def _events(
        self,
        row: dict[str, Any],
        body: SubmitRequest,
        subject: Subject,
        decision: Decision,
        deadlines: Deadlines,
        gpc: bool,
    ) -> list[tuple[str, Event]]:
        request_id, now = row["request_id"], deadlines.received_at
        submitted = Event(
            EventType.REQUEST_SUBMITTED,
            subject.subject_key,
            PRODUCER,
            request_id=request_id,
            occurred_at=now,
            payload=self._submitted_payload(row, body, decision),
        )
        events: list[tuple[str, Event]] = [(self.topics(REQUESTS), submitted)]
        if decision.denial:
            denied = Event(
                EventType.REQUEST_DENIED,
                subject.subject_key,
                PRODUCER,
                request_id=request_id,
                occurred_at=strictly_after(now),
                payload=RequestDeniedPayload(denial_code=decision.denial.code, basis=decision.denial.basis),
            )
            events.append((self.topics(REQUESTS), denied))
        if gpc:
            events.append((self.topics(CONSENT_CHANGES), self._gpc_event(subject, row, now)))
        return events

    def _submitted_payload(
        self, row: dict[str, Any], body: SubmitRequest, decision: Decision
    ) -> RequestSubmittedPayload:
        corrections = row["corrections_sealed"]
        decided = RequestDecision.DENIED if decision.denial else RequestDecision.ACCEPTED
        declaration = declaration_evidence(body.verification, row["received_at"])
        return RequestSubmittedPayload(
            request_type=row["request_type"],
            requested_type=row["requested_type"],
            channel=row["channel"],
            received_at=row["received_at"],
            acknowledged_at=row["acknowledged_at"],
            respond_by=row["respond_by"],
            max_extended_respond_by=row["max_extended_respond_by"],
            identifier_kinds=tuple(row["identifier_kinds"]),
            identifiers=Sealed.from_json(row["identifiers_sealed"]).to_value(),
            corrections=Sealed.from_json(corrections).to_value() if corrections else None,
            verification_required=row["verification_required"],
            verification_achieved=row["verification_achieved"],
            verification_outcome=row["verification_outcome"],
            authorized_agent=row["authorized_agent"],
            agent_permission_verified=bool(body.authorized_agent and body.authorized_agent.signed_permission),
            gpc=row["gpc"],
            date_range_start=row["date_range_start"],
            date_range_end=row["date_range_end"],
            limit_categories=tuple(sorted(body.limit_categories)),
            decision=decided,
            acting_services=acting_services(decision.request_type, decided),
            agent_name=body.authorized_agent.name if body.authorized_agent else None,
            agent_permission_reference=body.authorized_agent.permission_reference if body.authorized_agent else None,
            declaration_signed=declaration.signed,
            declaration_signed_at=declaration.signed_at,
            declaration_text_version=declaration.text_version,
            review_before_send=self.reviewed(row),
            subject_type=row["subject_type"],
        )

    def _gpc_event(self, subject: Subject, row: dict[str, Any], now: datetime) -> Event:
        device = subject.identifiers.get(IdentifierKind.DEVICE_ID)
        return Event(
            EventType.CONSENT_CHANGED,
            subject.subject_key,
            PRODUCER,
            request_id=row["request_id"],
            occurred_at=strictly_after(now),
            payload=ConsentChangedPayload(
                source="gpc",
                scope="consumer",
                device_key=keyed_hash(self.subject_secret, "device_id", device) if device else None,
                sale_opt_out=True,
                share_opt_out=True,
                effective_at=now,
                signal="Sec-GPC: 1",
                identifiers=Sealed.from_json(row["identifiers_sealed"]).to_value(),
            ),
        )

    def _seal_identifiers(self, subject: Subject, request_id: str) -> Sealed:
        document = {kind.value: value for kind, value in subject.identifiers.items()}
        return self.sealer.seal(document, subject.subject_key, request_id)

    def _keyed(self, text: str) -> str:
        return keyed_hash(self.subject_secret, "idempotency", text)


def fingerprinted(body: SubmitRequest) -> dict[str, Any]:
    """The body an Idempotency-Key is bound to; a customer's subject_type (the default) is left out, so a retry of a
    body sent before the field existed is the same request, not a conflict."""
    document = body.model_dump(mode="json")
    if document.get("subject_type") == SubjectType.CONSUMER:
        del document["subject_type"]
    return document


def notify_receipt(notices: NoticeQueue, conn: sa.Connection, row: dict[str, Any], link: StatusLink) -> None:
    """§7021(a): the acknowledgement, or for a request denied on receipt the answer, with the link just issued."""
    if row["denial_code"]:
        notice, told = "response", {"outcome": "denied", "denial_code": row["denial_code"]}
    else:
        notice, told = "acknowledgement", {"respond_by": row["respond_by"].isoformat()}
    notices.enqueue(conn, row, notice, told, row["received_at"], status_token=link.token)
