"""Event content contracts: real producers' events pass, nonsense in valid Avro is refused naming field and rule."""

from __future__ import annotations

import dataclasses
import io
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.audit import handlers, orm
from services.common import contracts
from services.common.consumer import Delivery, request_failed
from services.common.contracts import CONTRACTS, ContractBreach
from services.common.db import make_engine
from services.common.events import Event, utcnow
from services.common.identity import IdentifierKind
from services.common.serde import SINGLE_OBJECT_MARKER, DecodeError, SchemaCatalog, SingleObjectCodec
from services.intake.api_models import Channel
from services.intake.verification import VerificationLevel
from tests.fields import event_of, with_fields
from tests.nonsense import SPOILERS, event_types, fields_of, spoilers_for, well_formed

CATALOG = SchemaCatalog()
CODEC = SingleObjectCodec(CATALOG)
TYPES = event_types(CATALOG)
WHERE = Delivery("privacy.requests", 0, 7)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_event_schema_has_a_contract_and_nothing_else_does() -> None:
    assert set(CONTRACTS) == set(TYPES)


def test_enumerations_match_the_services_that_define_them() -> None:
    assert {channel.value for channel in Channel} == contracts.CHANNELS
    assert {level.value for level in VerificationLevel} == contracts.VERIFICATION_LEVELS
    assert {kind.value for kind in IdentifierKind} == contracts.IDENTIFIER_KINDS


@pytest.mark.parametrize("event_type", TYPES)
def test_a_well_formed_event_passes_before_and_after_the_codec(event_type: str) -> None:
    event = well_formed(event_type)
    contracts.check(event)
    contracts.check(CODEC.decode(CODEC.encode(event)))


def test_a_record_whose_event_type_names_another_event_does_not_decode() -> None:
    completed = CATALOG.for_event_type("RequestCompleted")
    body = io.BytesIO(SINGLE_OBJECT_MARKER + completed.fingerprint)
    body.seek(0, io.SEEK_END)
    schemaless_writer(body, completed.schema, {**well_formed("RequestCompleted").to_record(), "event_type": "Other"})
    with pytest.raises(DecodeError, match="carries the event_type of another event"):
        CODEC.decode(body.getvalue())


def test_an_unknown_event_type_is_refused() -> None:
    """No event of an unknown type can be built, so none reaches a contract check (or a handler)."""
    with pytest.raises(ValueError, match="event_type is not a known event type"):
        dataclasses.replace(well_formed("RequestCompleted"), event_type="RequestTeleported")


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"request_type": "frobnicate"}, "payload.request_type", "one of the known values"),
        ({"respond_by": datetime(9999, 12, 31, tzinfo=UTC)}, "payload.respond_by", "fall between"),
        ({"channel": "carrier pigeon"}, "payload.channel", "one of the known values"),
        ({"identifier_kinds": ["email", "ssn"]}, "payload.identifier_kinds", "unknown value"),
        ({"received_at": datetime(2019, 12, 31, tzinfo=UTC)}, "payload.received_at", "not before 2020"),
        ({"acting_services": ["deletion", "audit"]}, "payload.acting_services", "unknown value"),
        ({"decision": "maybe"}, "payload.decision", "one of the known values"),
        ({"agent_name": "Agents\nLLC"}, "payload.agent_name", "one line"),
        ({"agent_permission_reference": "r" * 201}, "payload.agent_permission_reference", "at most 200"),
        ({"declaration_text_version": "v 1"}, "payload.declaration_text_version", "a name of at most 32"),
    ],
)
def test_the_issue_s_nonsense_requests_are_refused_naming_field_and_rule(
    changes: dict[str, Any], field: str, rule: str
) -> None:
    event = well_formed("RequestSubmitted")
    with pytest.raises(ContractBreach, match=rf"{field} .*{rule}"):
        contracts.check(with_fields(event, {**fields_of(event), **changes}))


def test_a_request_event_without_request_id_is_refused_and_a_consent_change_without_one_passes() -> None:
    with pytest.raises(ContractBreach, match="request_id is missing"):
        contracts.check(dataclasses.replace(well_formed("RequestSubmitted"), request_id=None))
    contracts.check(dataclasses.replace(well_formed("ConsentChanged"), request_id=None))


def test_a_due_date_before_receipt_and_an_extension_shortening_the_deadline_are_refused() -> None:
    submitted = well_formed("RequestSubmitted")
    early = {**fields_of(submitted), "respond_by": submitted.payload.received_at - timedelta(seconds=1)}
    with pytest.raises(ContractBreach, match=r"payload\.respond_by must fall between received_at"):
        contracts.check(with_fields(submitted, early))
    extended = well_formed("RequestExtended")
    shorter = {**fields_of(extended), "respond_by": extended.payload.previous_respond_by - timedelta(days=1)}
    with pytest.raises(ContractBreach, match=r"payload\.respond_by must not be before previous_respond_by"):
        contracts.check(with_fields(extended, shorter))


@pytest.mark.parametrize("spoiler", SPOILERS, ids=[spoiler.name for spoiler in SPOILERS])
def test_every_spoiler_applies_to_some_event_type(spoiler: Any) -> None:
    assert any(spoiler.applies(well_formed(event_type)) for event_type in TYPES)


@FUZZ
@given(event_type=st.sampled_from(TYPES), seed=st.integers(0, 2**32 - 1))
def test_every_spoiled_event_is_refused_and_the_message_never_echoes_the_value(event_type: str, seed: int) -> None:
    rng = random.Random(seed)
    event = well_formed(event_type)
    spoiled = rng.choice(spoilers_for(event)).spoil(event, rng)
    decoded = CODEC.decode(CODEC.encode(spoiled))  # still valid Avro
    with pytest.raises(ContractBreach) as refused:
        contracts.check(decoded)
    assert_no_echo(str(refused.value), spoiled)


def assert_no_echo(message: str, event: Event) -> None:
    values = [event.request_id, event.subject_key, event.producer, *map(str, fields_of(event).values())]
    for value in values:
        # A drawn value that happens to be part of the event type's name ("AnswerRe") is not an echo of it.
        if value and len(value) >= 8 and value not in ("RequestSubmitted", "app-db", str(event.event_type)):
            assert value not in message.replace(str(event.event_type), "")


TEXT = st.one_of(st.text(max_size=80), st.sampled_from(["", "x" * 20_000, "\x00", "🙂" * 64, "delete", "api"]))
INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
) | st.builds(lambda days: utcnow() + timedelta(days=days), st.integers(-400, 400))
IDS = st.one_of(st.none(), st.uuids().map(str), TEXT)


@FUZZ
@given(
    event_type=st.sampled_from(TYPES),
    data=st.data(),
    request_id=IDS,
    subject_key=st.one_of(st.just("5e" * 32), TEXT),
    occurred_at=INSTANTS,
)
def test_random_content_is_refused_or_passes_its_rules_never_crashes(
    event_type: str, data: st.DataObject, request_id: str | None, subject_key: str, occurred_at: datetime
) -> None:
    base = well_formed(event_type)
    payload = {key: data.draw(_like(value), label=key) for key, value in fields_of(base).items()}
    event = event_of(event_type, subject_key, "intake", payload, request_id=request_id, occurred_at=occurred_at)
    try:
        contracts.check(event)
    except ContractBreach as refused:
        assert_no_echo(str(refused), event)
        failed = request_failed("ccpa-audit", WHERE, {}, subject_key.encode(), event, refused, 1)
        contracts.check(failed)  # a RequestFailed never loops back to the DLQ
        return
    assert request_id is None or contracts.is_uuid(request_id)
    assert contracts.is_subject_key(subject_key)
    assert payload.get("request_type") in (None, *contracts.REQUEST_TYPES)


def _like(value: Any) -> st.SearchStrategy[Any]:
    """Random values of the same Avro type as a well-formed field's value (known ones now and then)."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(-(2**31), 2**31 - 1)
    if isinstance(value, datetime):
        return st.just(value) | INSTANTS
    if isinstance(value, str):
        return st.just(value) | TEXT
    if isinstance(value, list):
        return st.lists(_like(value[0]), max_size=3) if value else st.just([])  # items of the same Avro type
    return st.just(value)


@FUZZ
@given(
    request_id=st.binary(max_size=40),
    event_id=st.binary(max_size=40),
    event_type=st.binary(max_size=80),
    key=st.none() | st.binary(max_size=80),
)
def test_the_request_failed_of_an_undecodable_message_meets_its_contract(
    request_id: bytes, event_id: bytes, event_type: bytes, key: bytes | None
) -> None:
    headers = {"request_id": request_id, "event_id": event_id, "event_type": event_type}
    failed = request_failed("ccpa-discovery", WHERE, headers, key, None, ValueError("body does not decode"), 1)
    contracts.check(failed)
    CODEC.decode(CODEC.encode(failed))


def test_audit_opens_no_request_record_for_a_request_failed_without_submission(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/audit.db")
    orm.metadata.create_all(engine)
    request_id = str(uuid.uuid4())
    breach = ContractBreach("RequestSubmitted refused: payload.request_type must be one of the known values")
    failed = request_failed("ccpa-audit", WHERE, {"request_id": request_id.encode()}, None, None, breach, 1)
    contracts.check(failed)
    with engine.begin() as conn:
        handlers.handle(failed, conn, Delivery("privacy.failures", 0, 1))
    with engine.connect() as conn:
        assert conn.execute(orm.request_records.select()).all() == []
        assert [row.request_id for row in conn.execute(orm.timeline.select())] == [request_id]
    engine.dispose()
