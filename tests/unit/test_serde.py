"""Unit tests of the Avro contracts and single-object encoding: fingerprints, round trips, poison bytes."""

from __future__ import annotations

import io
import json
import struct
import uuid
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_writer
from fastavro.schema import load_schema, parse_schema, to_parsing_canonical_form

from services.common.event_types import EventType
from services.common.events import Event
from services.common.payloads.requests import RequestCompletedPayload
from services.common.serde import (
    CONTENT_TYPE,
    SINGLE_OBJECT_MARKER,
    DecodeError,
    SchemaCatalog,
    SingleObjectCodec,
    fingerprint_bytes,
)
from tests.avro_samples import generated_records
from tests.fields import event_of

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "events"
ENCRYPTED_VALUE = "privacy.events.EncryptedValue"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DAY = date(1970, 1, 1)
RECORDS_PER_SCHEMA = 40
EVENT_TYPES = sorted(
    path.name.removeprefix("privacy.events.").removesuffix(".avsc")
    for path in SCHEMA_DIR.glob("*.avsc")
    # nested records (EncryptedValue, Exemption) never travel alone: only envelopes with a payload are events
    if any(field["name"] == "payload" for field in json.loads(path.read_text())["fields"])
)


@pytest.fixture(scope="module")
def catalog() -> SchemaCatalog:
    return SchemaCatalog(SCHEMA_DIR)


@pytest.fixture(scope="module")
def codec(catalog: SchemaCatalog) -> SingleObjectCodec:
    return SingleObjectCodec(catalog)


def crc64_avro(data: bytes) -> int:
    """The Avro spec's reference Rabin fingerprint, written out independently of fastavro."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def domain_value(schema: Any, value: Any, named: dict[str, Any]) -> Any:
    """Generated raw Avro values as our records hold them: aware datetimes, dates, uuid strings."""
    if isinstance(schema, str) and schema in named:
        return domain_value(named[schema], value, named)
    if isinstance(schema, list):
        if value is None:
            return None
        branch = next(s for s in schema if s != "null")
        return domain_value(branch, value, named)
    if not isinstance(schema, dict):
        return value
    logical = schema.get("logicalType")
    if logical == "timestamp-micros":
        return EPOCH + timedelta(microseconds=value)
    if logical == "date":
        return EPOCH_DAY + timedelta(days=value)
    if logical == "uuid":
        return str(uuid.uuid4())
    if schema["type"] == "record":
        return {f["name"]: domain_value(f["type"], value[f["name"]], named) for f in schema["fields"]}
    if schema["type"] == "array":
        return [domain_value(schema["items"], item, named) for item in value]
    return value


def generated_events(event_type: str, count: int, seed: int) -> list[Event]:
    schema = load_schema(str(SCHEMA_DIR / f"privacy.events.{event_type}.avsc"))
    named: dict[str, Any] = {}
    parsed = parse_schema(schema, named)
    raws = generated_records(schema, count, seed)
    events = []
    for raw in raws:
        record = domain_value(parsed, raw, named)
        record["event_type"] = event_type
        events.append(Event.from_record(record))
    return events


def sample_event(**overrides: Any) -> Event:
    fields: dict[str, Any] = {
        "event_type": "RequestExtended",
        "subject_key": "ab" * 32,
        "producer": "intake",
        "request_id": "4f7d0a4e-31a4-4bb4-9a8e-0b5a2f3c9d11",
        "event_id": "0e6f2b7c-9a4d-4c1e-8f3b-5d2a7c9e1f00",
        "occurred_at": datetime(2026, 11, 4, 17, 30, 0, 123456, tzinfo=UTC),
        "payload": {
            "previous_respond_by": datetime(2026, 12, 19, 7, 59, 59, 999999, tzinfo=UTC),
            "respond_by": datetime(2027, 2, 2, 7, 59, 59, 999999, tzinfo=UTC),
            "reason": "records held by a processor",
        },
    }
    return event_of(**{**fields, **overrides})


class TestFingerprint:
    def test_spec_vector_for_int_is_little_endian(self) -> None:
        assert fingerprint_bytes('"int"') == bytes.fromhex("8f5c393f1ad57572")
        assert struct.unpack("<Q", fingerprint_bytes('"int"'))[0] == 0x7275D51A3F395C8F

    @pytest.mark.parametrize("canonical", ['"int"', '"string"', '{"type":"array","items":"long"}'])
    def test_matches_reference_rabin_implementation(self, canonical: str) -> None:
        assert fingerprint_bytes(canonical) == struct.pack("<Q", crc64_avro(canonical.encode()))

    def test_different_schemas_have_different_fingerprints(self) -> None:
        assert fingerprint_bytes('"int"') != fingerprint_bytes('"long"')


class TestCatalog:
    def test_every_avsc_is_loaded_by_full_name(self, catalog: SchemaCatalog) -> None:
        expected = {path.name.removesuffix(".avsc") for path in SCHEMA_DIR.glob("*.avsc")}
        assert set(catalog.by_name) == expected
        assert set(catalog.by_name) >= {ENCRYPTED_VALUE, *(f"privacy.events.{t}" for t in EVENT_TYPES)}

    def test_event_fingerprints_are_indexed_and_nested_records_are_not(self, catalog: SchemaCatalog) -> None:
        for contract in catalog.by_name.values():
            if contract.is_event:
                readable = catalog.by_fingerprint[contract.fingerprint]
                assert readable.writer is contract and readable.reader is contract
            else:
                assert contract.fingerprint not in catalog.by_fingerprint

    @pytest.mark.parametrize("event_type", EVENT_TYPES)
    def test_contract_fingerprint_is_crc64_of_canonical_form(self, catalog: SchemaCatalog, event_type: str) -> None:
        contract = catalog.for_event_type(event_type)
        canonical = to_parsing_canonical_form(contract.schema)
        # Parsing canonical form drops docs, defaults and logical types (as Java's SchemaNormalization does).
        assert '"doc"' not in canonical and "logicalType" not in canonical and '"default"' not in canonical
        assert canonical.startswith(f'{{"name":"privacy.events.{event_type}","type":"record"')
        assert contract.fingerprint == struct.pack("<Q", crc64_avro(canonical.encode()))
        assert contract.event_type == event_type

    def test_unknown_event_type_names_it(self, catalog: SchemaCatalog) -> None:
        with pytest.raises(KeyError, match="RequestTeleported"):
            catalog.for_event_type("RequestTeleported")

    def test_missing_folder_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError, match="CCPA_SCHEMA_DIR"):
            SchemaCatalog(tmp_path / "nowhere")


class TestRoundTrip:
    @pytest.mark.parametrize("event_type", EVENT_TYPES)
    def test_generated_events_round_trip(self, codec: SingleObjectCodec, event_type: str) -> None:
        events = list(generated_events(event_type, RECORDS_PER_SCHEMA, seed=zlib.crc32(event_type.encode())))
        assert len(events) == RECORDS_PER_SCHEMA
        for event in events:
            decoded = codec.decode(codec.encode(event))
            assert decoded == event
            assert decoded.occurred_at.tzinfo is not None

    def test_every_event_schema_has_a_round_trip_case(self, catalog: SchemaCatalog) -> None:
        schema_types = {c.event_type for c in catalog.by_name.values() if c.is_event}
        assert schema_types == set(EVENT_TYPES)

    def test_defaults_of_optional_fields_round_trip(self, codec: SingleObjectCodec) -> None:
        payload = {"denial_code": "not_verified", "basis": "b", "in_part": False}
        event = event_of("RequestDenied", "cd" * 32, "intake", payload)
        decoded = codec.decode(codec.encode(event))
        assert decoded.request_id is None
        assert decoded == event

    @pytest.mark.parametrize("event_type", EVENT_TYPES)
    def test_encoding_starts_with_marker_and_fingerprint(
        self, codec: SingleObjectCodec, catalog: SchemaCatalog, event_type: str
    ) -> None:
        (event,) = generated_events(event_type, 1, seed=7)
        data = codec.encode(event)
        assert data[:2] == b"\xc3\x01" == SINGLE_OBJECT_MARKER
        assert data[2:10] == catalog.for_event_type(event_type).fingerprint
        assert len(data) > 10

    def test_schema_is_chosen_by_event_type(self, codec: SingleObjectCodec) -> None:
        with pytest.raises(ValueError, match="not a known event type"):
            codec.encode(sample_event(event_type="Unheard"))

    def test_content_type_is_single_object(self, codec: SingleObjectCodec) -> None:
        assert codec.content_type == CONTENT_TYPE == "application/vnd.apache.avro.single-object"


class TestDecodeErrors:
    @pytest.fixture
    def encoded(self, codec: SingleObjectCodec) -> bytes:
        return codec.encode(sample_event())

    @pytest.mark.parametrize("data", [b"", None, b"\xc3", b"\xc3\x01\x00\x00"])
    def test_empty_or_too_short(self, codec: SingleObjectCodec, data: bytes | None) -> None:
        with pytest.raises(DecodeError, match="marker"):
            codec.decode(data)

    def test_missing_marker(self, codec: SingleObjectCodec, encoded: bytes) -> None:
        with pytest.raises(DecodeError, match="marker"):
            codec.decode(b"\x00\x00" + encoded[2:])
        with pytest.raises(DecodeError, match="marker"):
            codec.decode(encoded[2:])

    def test_json_is_not_mistaken_for_avro(self, codec: SingleObjectCodec) -> None:
        with pytest.raises(DecodeError):
            codec.decode(json.dumps({"event_type": "RequestExtended"}).encode())

    def test_unknown_fingerprint_is_named(self, codec: SingleObjectCodec, encoded: bytes) -> None:
        unknown = fingerprint_bytes('"int"')
        with pytest.raises(DecodeError, match="7275d51a3f395c8f"):
            codec.decode(SINGLE_OBJECT_MARKER + unknown + encoded[10:])

    def test_encrypted_value_is_not_an_event(self, codec: SingleObjectCodec, catalog: SchemaCatalog) -> None:
        contract = catalog.by_name[ENCRYPTED_VALUE]
        body = io.BytesIO()
        schemaless_writer(body, contract.schema, {"key_id": "dk-1", "nonce": b"n" * 12, "ciphertext": b"c"})
        with pytest.raises(DecodeError):
            codec.decode(SINGLE_OBJECT_MARKER + contract.fingerprint + body.getvalue())

    @pytest.mark.parametrize("keep", [10, 11, 30, -20, -1])
    def test_truncated_body(self, codec: SingleObjectCodec, encoded: bytes, keep: int) -> None:
        with pytest.raises(DecodeError, match="RequestExtended"):
            codec.decode(encoded[:keep])

    def test_body_of_another_schema_does_not_decode(
        self, codec: SingleObjectCodec, catalog: SchemaCatalog, encoded: bytes
    ) -> None:
        failed = catalog.for_event_type("RequestFailed").fingerprint
        with pytest.raises(DecodeError):
            codec.decode(SINGLE_OBJECT_MARKER + failed + encoded[10:])

    def test_decode_error_is_a_value_error(self) -> None:
        assert issubclass(DecodeError, ValueError)


class TestHeaders:
    def test_all_headers_with_request(self) -> None:
        event = sample_event()
        assert event.headers() == [
            ("event_type", b"RequestExtended"),
            ("event_id", b"0e6f2b7c-9a4d-4c1e-8f3b-5d2a7c9e1f00"),
            ("producer", b"intake"),
            ("request_id", b"4f7d0a4e-31a4-4bb4-9a8e-0b5a2f3c9d11"),
        ]

    @pytest.mark.parametrize("request_id", [None, ""])
    def test_request_id_only_when_present(self, request_id: str | None) -> None:
        names = [name for name, _ in sample_event(request_id=request_id).headers()]
        assert names == ["event_type", "event_id", "producer"]

    def test_headers_carry_no_subject_or_payload(self) -> None:
        event = sample_event()
        values = b"".join(value for _, value in event.headers())
        assert event.subject_key.encode() not in values
        assert b"processor" not in values

    def test_headers_are_bytes(self) -> None:
        assert all(isinstance(value, bytes) for _, value in sample_event().headers())


class TestEnvelope:
    def test_defaults_are_fresh_uuid_and_aware_now(self) -> None:
        before = datetime.now(UTC)
        first = Event(EventType.REQUEST_COMPLETED, "k", "p", RequestCompletedPayload(outcome="complied", summary=""))
        second = Event(EventType.REQUEST_COMPLETED, "k", "p", RequestCompletedPayload(outcome="complied", summary=""))
        assert first.event_id != second.event_id
        assert str(uuid.UUID(first.event_id)) == first.event_id
        assert first.occurred_at.tzinfo is not None
        assert before <= first.occurred_at <= datetime.now(UTC)

    def test_record_round_trip_stringifies_uuid(self) -> None:
        event = sample_event()
        record = event.to_record()
        record["event_id"] = uuid.UUID(record["event_id"])
        assert Event.from_record(record) == event

    def test_to_record_copies_payload(self) -> None:
        event = sample_event()
        record = event.to_record()
        record["payload"]["reason"] = "changed"
        assert event.payload.reason == "records held by a processor"


class TestSchemaEvolution:
    def test_event_written_with_previous_compatible_schema_decodes(
        self, codec: SingleObjectCodec, tmp_path: Path
    ) -> None:
        current, released = tmp_path / "events", tmp_path / "released" / "1"
        current.mkdir()
        released.mkdir(parents=True)
        for path in SCHEMA_DIR.glob("*.avsc"):
            (released / path.name).write_text(path.read_text())
            document = json.loads(path.read_text())
            if document["name"] == "RequestExtended":
                document["fields"][-1]["type"]["fields"].append(
                    {"name": "notice_sent", "type": "boolean", "default": False}
                )
            (current / path.name).write_text(json.dumps(document))
        evolved = SingleObjectCodec(SchemaCatalog(current))
        decoded = evolved.read(codec.encode(sample_event()))
        assert decoded["payload"]["notice_sent"] is False
        with pytest.raises(DecodeError, match="does not match its typed class"):
            evolved.decode(codec.encode(sample_event()))  # a schema ahead of the classes: regenerate them
