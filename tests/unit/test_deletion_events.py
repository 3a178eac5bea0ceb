"""The deletion worker's event builder: every event it builds is valid under its Avro schema, and carries what the
step found (attempt numbers, held or done, store kinds from the data map, exemptions with their basis)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.event_types import EventType
from services.common.events import Event
from services.common.payloads import shared
from services.common.payloads.deletion import CollectionAction, ProviderConfirmedPayload, StoreCount
from services.common.serde import SingleObjectCodec
from services.deletion.corrections import Corrected
from services.deletion.erasure import StoreOutcome
from services.deletion.erasure.outcome import Exemption
from services.deletion.events import DeletionEvents
from services.deletion.jobs import Job
from services.deletion.notices import NoticeStatus
from services.deletion.providers.model import State
from services.deletion.providers.overdue import OverdueInstruction
from services.deletion.verification import Verification
from tests.unit.test_erasure_plan import DATAMAP  # one sql store, app

CODEC = SingleObjectCodec()
SUBJECT = "5e" * 32
REQUEST = "00000000-0000-4000-8000-000000000001"
JOB = Job(REQUEST, SUBJECT, "delete", "erasing", 2, 1, True, None, None, None)
KEPT = Exemption("customers", "legal_obligation", "tax records", 3, datetime(2030, 1, 1, tzinfo=UTC))
ERASED = StoreOutcome("app", {"customers": {"deleted": 2, "retained": 3, "held": 0}}, (KEPT,))
FIXED = Corrected("app", "customers", "postal_code", "postal code", 1)
STATUS = NoticeStatus(confirmed=["mailer"], pending=["crm"], not_notified={"ads": "no contract"}, undelivered=["crm"])


def encodes(event: Event) -> Event:
    decoded = CODEC.decode(CODEC.encode(event))
    assert decoded.event_type == event.event_type
    return decoded


def deletion_events() -> list[Event]:
    build = DeletionEvents(DATAMAP)
    overdue = OverdueInstruction("i-1", REQUEST, SUBJECT, "crm", "delete", State.DELIVERED, datetime.now(UTC), None)
    return [
        build.store_erased(JOB, ERASED),
        build.store_unavailable(JOB, "app", "timeout"),
        build.store_corrected(JOB, "app", [FIXED]),
        build.correction_reapplied(REQUEST, SUBJECT, FIXED),
        build.deletion_verified(JOB, 2, Verification(False, {("app", "customers"): 1}, 3)),
        build.correction_verified(JOB, [FIXED], False),
        build.provider(
            JOB,
            EventType.PROVIDER_CONFIRMED,
            ProviderConfirmedPayload(recipient="mailer", instruction_id="i-1", confirmation_id="c-1"),
        ),
        build.provider_overdue(overdue),
        build.deletion_completed(JOB, [ERASED], STATUS),
        build.correction_completed(JOB, [FIXED], STATUS),
        build.request_completed(JOB, "complied_in_part", "kept"),
    ]


@pytest.mark.parametrize("event", deletion_events(), ids=lambda event: event.event_type)
def test_every_deletion_event_is_valid_under_its_schema(event: Event) -> None:
    decoded = encodes(event)
    assert (decoded.request_id, decoded.subject_key, decoded.producer) == (REQUEST, SUBJECT, "deletion")


def test_a_store_erasure_names_its_kind_attempt_actions_and_exemptions() -> None:
    payload = DeletionEvents(DATAMAP).store_erased(JOB, ERASED).payload
    assert (payload.store_kind, payload.attempt, payload.outcome) == ("sql", 3, "done")
    assert payload.actions == (CollectionAction(collection="customers", action="deleted", records=2),
                               CollectionAction(collection="customers", action="retained", records=3))  # fmt: skip
    assert payload.exemptions == (shared.Exemption(store="app", collection="customers", code="legal_obligation",
                                            basis="tax records", records=3, retain_until="2030-01-01"),)  # fmt: skip
    held = StoreOutcome("app", {"customers": {"held": 1}})
    assert DeletionEvents(DATAMAP).store_erased(JOB, held).payload.outcome == "held"
    assert DeletionEvents(DATAMAP).store_unavailable(JOB, "gone", "timeout").payload.store_kind == ""


def test_the_answer_lists_providers_and_the_recipients_not_notified_with_why() -> None:
    payload = DeletionEvents(DATAMAP).deletion_completed(JOB, [ERASED], STATUS).payload
    assert (payload.verified, payload.providers_confirmed, payload.providers_pending) == (True, ("mailer",), ("crm",))
    assert (payload.not_notified, payload.undelivered) == (("ads: no contract",), ("crm",))
    assert payload.stores == (StoreCount(store="app", outcome="done", records=2),)  # erased, not kept
