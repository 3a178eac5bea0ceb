"""Opt-out use cases: apply requests, GPC signals and product events to consent state; record acknowledgements."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.common.acting import acts_on
from services.common.clocks import deadlines_for
from services.common.consumer import Delivery, Routes, dispatch
from services.common.crypto import KeyShredded, Sealed, Sealer
from services.common.errors import PoisonMessage
from services.common.event_types import EventType
from services.common.events import Event, strictly_after
from services.common.outbox import Outbox
from services.common.payloads.consent import (
    ConsentChangedPayload,
    OptOutAcknowledgedPayload,
    OptOutAppliedPayload,
    OptOutStatePayload,
)
from services.common.payloads.requests import RequestCompletedPayload, RequestDeniedPayload, RequestSubmittedPayload
from services.common.payloads.shared import EncryptedValue
from services.common.request_types import ActingService, RequestType
from services.common.topics import CONSENT_CHANGES, OPTOUT_ACKS, OPTOUT_RESULTS, OPTOUT_STATE, REQUESTS, TopicNames
from services.optout import orm, rules
from services.optout.gpp import (
    USCA_SENSITIVE_SLOTS,
    PrivacyStringError,
    california_choices,
    decode_gpp,
    decode_usp,
    usca_for,
    usp_for,
)
from services.optout.rules import ConsentInput, ConsentState, Outcome
from services.optout.systems import SystemsOfRecord

PRODUCER = "optout"
SUBSCRIBED = (REQUESTS, CONSENT_CHANGES, OPTOUT_ACKS)  # the topics of the event types its routing table names
USCA_SLOTS = frozenset(USCA_SENSITIVE_SLOTS)
SIGNAL_SOURCES = frozenset({"gpp", "usp"})


@dataclass(frozen=True)
class Trigger:
    """The event that asked for a change, and whether it is a consumer request this service answers."""

    event: Event
    answers_request: bool


class OptoutHandlers:
    def __init__(self, outbox: Outbox, topics: TopicNames, sealer: Sealer, systems: SystemsOfRecord,
                 downstream: list[str], ack_sla_seconds: float | None = None) -> None:  # fmt: skip
        self.outbox = outbox
        self.topics = topics
        self.sealer = sealer
        self.systems = systems
        self.downstream = downstream
        self.ack_sla_seconds = ack_sla_seconds
        # The event types optout acts on (their contracts are checked first), and what it does with each.
        self.routes: Routes = {
            EventType.REQUEST_SUBMITTED: self.on_request,
            EventType.CONSENT_CHANGED: self.on_consent_change,
            EventType.OPT_OUT_ACKNOWLEDGED: self.on_acknowledged,
        }

    def handle(self, event: Event, conn: sa.Connection, delivery: Delivery) -> None:
        dispatch(self.routes, event, conn, delivery)

    def on_request(self, event: Event[RequestSubmittedPayload], conn: sa.Connection, _delivery: Delivery) -> None:
        """An opt-out, limit or opt-in intake names optout on (every one but an agent's without permission)."""
        payload = event.payload
        if not acts_on(ActingService.OPTOUT, payload):
            return
        self._remember_identifiers(conn, event.subject_key, event.request_id, payload.identifiers)
        self.apply(conn, event.subject_key, request_input(payload), Trigger(event, answers_request=True))

    def on_consent_change(self, event: Event[ConsentChangedPayload], conn: sa.Connection, _delivery: Delivery) -> None:
        payload = event.payload
        if payload.identifiers and event.request_id:
            self._remember_identifiers(conn, event.subject_key, event.request_id, payload.identifiers)
        change = consent_input(payload)
        self.apply(conn, event.subject_key, change, Trigger(event, answers_request=False))
        device = payload.device_key
        if device and device != event.subject_key and payload.source == "gpc":
            # §7025(c)(1): the signal covers the browser/device itself, whatever the known consumer's choices.
            self.apply(conn, device, replace(change, scope="device"), Trigger(event, answers_request=False))

    def on_acknowledged(
        self, event: Event[OptOutAcknowledgedPayload], conn: sa.Connection, _delivery: Delivery
    ) -> None:
        payload = event.payload
        conn.execute(
            sa.update(orm.pending_acks)
            .where(orm.pending_acks.c.subject_key == event.subject_key,
                   orm.pending_acks.c.version == payload.state_version,
                   orm.pending_acks.c.downstream == payload.downstream,
                   orm.pending_acks.c.acknowledged_at.is_(None))
            .values(acknowledged_at=event.occurred_at)
        )  # fmt: skip

    def apply(self, conn: sa.Connection, subject_key: str, change: ConsentInput, trigger: Trigger) -> Outcome:
        current = load_state(conn, subject_key, lock=True) or ConsentState(scope=change.scope)
        outcome = rules.apply(current, change)
        self._record_history(conn, subject_key, change, outcome, trigger.event)
        events: list[tuple[str, Event]] = []
        if outcome.changed:
            events += self._publish_state(conn, subject_key, outcome, change, trigger.event)
        elif trigger.answers_request and outcome.state.version and not outcome.refused:
            events.append(self._reapply(conn, subject_key, outcome, change, trigger.event))
        if trigger.answers_request:
            after = max([trigger.event.occurred_at, *(event.occurred_at for _, event in events)])
            events.append((self.topics(OPTOUT_RESULTS), self._response(subject_key, outcome, trigger.event, after)))
        for topic, event in events:
            self.outbox.add(conn, topic, [event])
        return outcome

    def _publish_state(self, conn: sa.Connection, subject_key: str, outcome: Outcome, change: ConsentInput,
                       trigger: Event) -> list[tuple[str, Event]]:  # fmt: skip
        state = outcome.state
        state_event = Event(
            EventType.OPT_OUT_STATE, subject_key, PRODUCER, request_id=trigger.request_id, payload=state_payload(state)
        )
        save_state(conn, subject_key, state, state_event)
        systems = self._set_flags(conn, subject_key, state)
        acknowledge_by = self._acknowledge_by(change.received_at)
        self._expect_acks(conn, subject_key, state, trigger.request_id, state_event.occurred_at, acknowledge_by)
        applied = Event(EventType.OPT_OUT_APPLIED, subject_key, PRODUCER, request_id=trigger.request_id,
                        occurred_at=strictly_after(state_event.occurred_at), payload=OptOutAppliedPayload(
                            state_version=state.version, sale_opt_out=state.sale_opt_out,
                            share_opt_out=state.share_opt_out, limit_sensitive=tuple(sorted(state.limit_sensitive)),
                            source=state.source, systems_updated=tuple(systems),
                            downstream_expected=tuple(self.downstream), acknowledge_by=acknowledge_by,
                            note="; ".join(outcome.notes) or None,
                        ))  # fmt: skip
        return [(self.topics(OPTOUT_STATE), state_event), (self.topics(OPTOUT_RESULTS), applied)]

    def _reapply(self, conn: sa.Connection, subject_key: str, outcome: Outcome, change: ConsentInput,
                 trigger: Event) -> tuple[str, Event]:  # fmt: skip
        """A request whose choice is already in force: the systems of record are set again (whole state, so a flag a
        sync reset, or a row only the request's new identifier finds, is right again) and the request's timeline
        shows it applied. Nothing new is published on the state topic, so no downstream acknowledgement is due."""
        state = outcome.state
        systems = self._set_flags(conn, subject_key, state)
        applied = Event(EventType.OPT_OUT_APPLIED, subject_key, PRODUCER, request_id=trigger.request_id,
                        occurred_at=strictly_after(trigger.occurred_at), payload=OptOutAppliedPayload(
                            state_version=state.version, sale_opt_out=state.sale_opt_out,
                            share_opt_out=state.share_opt_out, limit_sensitive=tuple(sorted(state.limit_sensitive)),
                            source=state.source, systems_updated=tuple(systems), downstream_expected=(),
                            acknowledge_by=self._acknowledge_by(change.received_at),
                            note=f"already in force since state version {state.version}; systems of record set "
                                 "again",
                        ))  # fmt: skip
        return self.topics(OPTOUT_RESULTS), applied

    def _response(self, subject_key: str, outcome: Outcome, trigger: Event, after: datetime) -> Event:
        payload: RequestDeniedPayload | RequestCompletedPayload = (
            RequestDeniedPayload(denial_code="other", basis="; ".join(outcome.notes))
            if outcome.refused
            else RequestCompletedPayload(outcome="complied", summary=describe_outcome(outcome))
        )
        event_type = EventType.REQUEST_DENIED if outcome.refused else EventType.REQUEST_COMPLETED
        return Event(event_type, subject_key, PRODUCER, request_id=trigger.request_id,
                     occurred_at=strictly_after(after), payload=payload)  # fmt: skip

    def _acknowledge_by(self, received_at: datetime) -> datetime:
        legal = deadlines_for(RequestType.OPT_OUT, received_at).respond_by
        if self.ack_sla_seconds is None:
            return legal
        return min(legal, received_at + timedelta(seconds=self.ack_sla_seconds))

    def _expect_acks(self, conn: sa.Connection, subject_key: str, state: ConsentState, request_id: str | None,
                     published_at: datetime, acknowledge_by: datetime) -> None:  # fmt: skip
        rows = [
            {
                "subject_key": subject_key,
                "version": state.version,
                "downstream": name,
                "request_id": request_id,
                "published_at": published_at,
                "acknowledge_by": acknowledge_by,
            }
            for name in self.downstream
        ]
        if rows:
            conn.execute(sa.insert(orm.pending_acks), rows)

    def _set_flags(self, conn: sa.Connection, subject_key: str, state: ConsentState) -> list[str]:
        identifiers = self._identifiers(conn, subject_key)
        return self.systems.set_flags(identifiers, state) if identifiers else []

    def _identifiers(self, conn: sa.Connection, subject_key: str) -> dict[str, str]:
        row = conn.execute(sa.select(orm.known_identifiers).where(
            orm.known_identifiers.c.subject_key == subject_key)).first()  # fmt: skip
        if row is None:
            return {}
        try:
            opened = self.sealer.open(Sealed.from_json(row.sealed), subject_key, row.request_id)
        except KeyShredded:
            # The subject's deletion shredded the key: their records are gone, so there is no flag left to set.
            conn.execute(sa.delete(orm.known_identifiers).where(orm.known_identifiers.c.subject_key == subject_key))
            return {}
        return {str(kind): str(value) for kind, value in opened.items()}

    def _remember_identifiers(self, conn: sa.Connection, subject_key: str, request_id: str | None,
                              sealed: EncryptedValue) -> None:  # fmt: skip
        if request_id is None:
            return
        values = {"subject_key": subject_key, "request_id": request_id, "sealed": Sealed.from_record(sealed).to_json()}
        updated = conn.execute(
            sa.update(orm.known_identifiers).where(orm.known_identifiers.c.subject_key == subject_key).values(values)
        )
        if updated.rowcount == 0:
            conn.execute(sa.insert(orm.known_identifiers).values(values))

    def _record_history(self, conn: sa.Connection, subject_key: str, change: ConsentInput, outcome: Outcome,
                        trigger: Event) -> None:  # fmt: skip
        conn.execute(sa.insert(orm.consent_history).values(
            subject_key=subject_key, event_id=trigger.event_id, request_id=trigger.request_id, source=change.source,
            received_at=change.received_at, changed=outcome.changed, version=outcome.state.version,
            state=state_json(outcome.state), notes=outcome.notes))  # fmt: skip


def describe_outcome(outcome: Outcome) -> str:
    """What the consumer is told was done (the §7101 nature of the response), without personal information."""
    state = outcome.state
    parts = [rules.confirmation_text(state)]
    if state.limit_sensitive:
        parts.append(f"use of sensitive personal information limited: {', '.join(sorted(state.limit_sensitive))}")
    parts.append(f"state version {state.version}")
    return "; ".join(parts + outcome.notes)


def request_input(payload: RequestSubmittedPayload) -> ConsentInput:
    request_type, received = payload.request_type, payload.received_at
    source = "agent" if payload.authorized_agent else "form"
    categories = frozenset(payload.limit_categories)
    if request_type == RequestType.OPT_OUT.value:
        return ConsentInput(source, received, sale_opt_out=True, share_opt_out=True)
    if request_type == RequestType.LIMIT.value:
        return ConsentInput(source, received, limit=categories)
    # An opt-in submitted by the consumer (not an agent) is the consumer's own action (§7028).
    own = not payload.authorized_agent
    if categories:
        return ConsentInput(source, received, unlimit=categories, consumer_action=own)
    return ConsentInput(source, received, sale_opt_out=False, share_opt_out=False, consumer_action=own)


def consent_input(payload: ConsentChangedPayload) -> ConsentInput:
    limits = payload.limit_sensitive
    change = ConsentInput(
        source=payload.source, received_at=payload.effective_at, sale_opt_out=payload.sale_opt_out,
        share_opt_out=payload.share_opt_out, limit=frozenset(limits) if limits else None,
        consumer_action=payload.consumer_action, parental_consent=payload.source == "parent",
        age_band=payload.age_band, financial_incentive=payload.financial_incentive,
        affirmed_opt_out=payload.affirmed_opt_out, scope=payload.scope or "consumer",
    )  # fmt: skip
    if payload.source in SIGNAL_SOURCES and payload.signal:
        return replace(change, **signal_choices(payload.source, payload.signal))
    return change


def signal_choices(source: str, signal: str) -> dict[str, Any]:
    """Opt-outs and limits a GPP or US Privacy string carries; a malformed string is a poison message.

    A string that says "did not opt out" is not an opt-in (§7025(c)(5)), so only opt-outs and limits are taken.
    """
    try:
        if source == "usp":
            usp = decode_usp(signal)
            return {"sale_opt_out": True if usp.opt_out_sale == "Y" else None}
        choices = california_choices(decode_gpp(signal))
    except PrivacyStringError as exc:
        raise PoisonMessage(f"{source} signal: {exc}") from exc
    return {
        "sale_opt_out": True if choices.sale_opt_out else None,
        "share_opt_out": True if choices.share_opt_out else None,
        "limit": frozenset(choices.limit_sensitive) or None,
    }


def state_fields(state: ConsentState) -> dict[str, Any]:
    """The state as OptOutState carries it; also what the consent API shows (a state never set has no instant)."""
    return {
        "version": state.version, "scope": state.scope, "sale_opt_out": state.sale_opt_out,
        "share_opt_out": state.share_opt_out, "limit_sensitive": sorted(state.limit_sensitive),
        "source": state.source, "effective_at": state.effective_at, "may_ask_after": state.may_ask_after,
        "under_16": state.under_16,
        # GPP's usca section has 9 sensitive-data slots; newer statutory categories (citizenship, neural data)
        # have none, so they are enforced here and on the topic but cannot be expressed in the GPP string.
        "gpp": usca_for(state.sale_opt_out, state.share_opt_out, state.limit_sensitive & USCA_SLOTS, gpc=None),
        "usp": usp_for(state.sale_opt_out),
    }  # fmt: skip


def state_payload(state: ConsentState) -> OptOutStatePayload:
    return OptOutStatePayload.from_record(state_fields(state))


def state_json(state: ConsentState) -> dict[str, Any]:
    payload = state_fields(state)
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in payload.items()}


def load_state(conn: sa.Connection, subject_key: str, lock: bool = False) -> ConsentState | None:
    query = sa.select(orm.consent_states).where(orm.consent_states.c.subject_key == subject_key)
    # Requests and consent changes of one subject arrive on different topics, maybe at different replicas.
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    return ConsentState(
        scope=row.scope, sale_opt_out=row.sale_opt_out, share_opt_out=row.share_opt_out,
        limit_sensitive=frozenset(row.limit_sensitive), source=row.source, effective_at=row.effective_at,
        version=row.version, may_ask_after=row.may_ask_after, age_band=row.age_band,
        opted_in_by_consumer=row.opted_in_by_consumer, financial_incentive_enrolled=row.financial_incentive_enrolled,
    )  # fmt: skip


def save_state(conn: sa.Connection, subject_key: str, state: ConsentState, state_event: Event) -> None:
    values = {
        "scope": state.scope, "sale_opt_out": state.sale_opt_out, "share_opt_out": state.share_opt_out,
        "limit_sensitive": sorted(state.limit_sensitive), "source": state.source, "effective_at": state.effective_at,
        "version": state.version, "may_ask_after": state.may_ask_after, "age_band": state.age_band,
        "opted_in_by_consumer": state.opted_in_by_consumer,
        "financial_incentive_enrolled": state.financial_incentive_enrolled,
        "state_event_id": state_event.event_id, "request_id": state_event.request_id,
    }  # fmt: skip
    table = orm.consent_states
    if conn.execute(sa.update(table).where(table.c.subject_key == subject_key).values(values)).rowcount == 0:
        conn.execute(sa.insert(table).values(subject_key=subject_key, **values))
