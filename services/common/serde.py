"""Avro contracts from schemas/ and Avro single-object encoding (marker C3 01, CRC-64-AVRO fingerprint, body)."""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form

from services.common.events import Event
from services.common.topics import TopicNames

SINGLE_OBJECT_MARKER = b"\xc3\x01"
NAMESPACE = "privacy.events"
CONTENT_TYPE = "application/vnd.apache.avro.single-object"


def default_schema_dir() -> Path:
    configured = os.environ.get("CCPA_SCHEMA_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "schemas" / "events"


def released_schema_dirs(schema_dir: Path) -> list[Path]:
    """schemas/released/N folders beside schemas/events, oldest first."""
    released = schema_dir.parent / "released"
    folders = (
        [path for path in released.iterdir() if path.is_dir() and path.name.isdigit()] if released.is_dir() else []
    )
    return sorted(folders, key=lambda path: int(path.name))


def fingerprint_bytes(canonical_form: str) -> bytes:
    """CRC-64-AVRO of the parsing canonical form, as the 8 little-endian bytes single-object encoding carries."""
    return bytes.fromhex(fingerprint(canonical_form, "CRC-64-AVRO"))


class DecodeError(ValueError):
    """The bytes are not a record of a known event schema in an encoding the codec reads (a poison message)."""


@dataclass(frozen=True)
class Contract:
    name: str
    schema: Any
    fingerprint: bytes

    @property
    def event_type(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def is_event(self) -> bool:
        """Top-level events carry the envelope; nested records (EncryptedValue) never travel alone."""
        return any(field["name"] == "event_type" for field in self.schema.get("fields", []))


@dataclass(frozen=True)
class WriterContract:
    """How to read bytes written with some schema version: that writer schema, resolved to the current one."""

    writer: Contract
    reader: Contract


class SchemaCatalog:
    """Every .avsc in the schema folder, addressable by full name and by its 8-byte fingerprint."""

    def __init__(self, schema_dir: Path | None = None) -> None:
        self.schema_dir = schema_dir or default_schema_dir()
        if not self.schema_dir.is_dir():
            raise FileNotFoundError(f"schema folder {self.schema_dir} does not exist (set CCPA_SCHEMA_DIR)")

    @cached_property
    def by_name(self) -> dict[str, Contract]:
        contracts = (self._load(path) for path in sorted(self.schema_dir.glob("*.avsc")))
        return {contract.name: contract for contract in contracts}

    @cached_property
    def by_fingerprint(self) -> dict[bytes, WriterContract]:
        """Every event fingerprint we can read: current schemas and those of every release still compatible."""
        readable: dict[bytes, WriterContract] = {}
        for folder in released_schema_dirs(self.schema_dir):
            for path in sorted(folder.glob("*.avsc")):
                writer = self._load(path)
                if writer.is_event and writer.name in self.by_name:
                    readable[writer.fingerprint] = WriterContract(writer, self.by_name[writer.name])
        current = (c for c in self.by_name.values() if c.is_event)
        readable.update({c.fingerprint: WriterContract(c, c) for c in current})
        return readable

    def _load(self, path: Path) -> Contract:
        schema = load_schema(str(path))
        if not isinstance(schema, dict):
            raise ValueError(f"{path} must hold one named record schema")
        canonical = to_parsing_canonical_form(schema)
        return Contract(str(schema["name"]), schema, fingerprint_bytes(canonical))

    def for_event_type(self, event_type: str) -> Contract:
        contract = self.by_name.get(f"{NAMESPACE}.{event_type}")
        if contract is None or not contract.is_event:
            raise KeyError(f"no event schema for event type {event_type!r} in {self.schema_dir}")
        return contract


class SingleObjectCodec:
    """Encodes events with the schema named after their event_type; decodes by fingerprint lookup."""

    content_type = CONTENT_TYPE

    def __init__(self, catalog: SchemaCatalog | None = None) -> None:
        self.catalog = catalog or SchemaCatalog()

    def encode(self, event: Event, topic: str | None = None) -> bytes:
        """The event's bytes; `topic` is where they go (the single-object encoding does not need it)."""
        contract = self.catalog.for_event_type(event.event_type)
        buffer = io.BytesIO()
        buffer.write(SINGLE_OBJECT_MARKER + contract.fingerprint)
        schemaless_writer(buffer, contract.schema, event.to_record())
        return buffer.getvalue()

    def prepare(self, topics: TopicNames) -> None:
        """Start-up work of the encoding: none for single-object (the registry codec registers its schemas)."""

    def decode(self, data: bytes | None) -> Event:
        """The event, its payload the typed class of its event type (services/common/payloads)."""
        record = self.read(data)
        try:
            return Event.from_record(record)
        except ValueError as exc:  # the schema folder holds a field the typed classes do not (CCPA_SCHEMA_DIR)
            raise DecodeError(f"{record['event_type']} does not match its typed class: {exc}") from exc

    def read(self, data: bytes | None) -> dict[str, Any]:
        """The record as Avro resolves it to the current schema: new fields filled from their defaults."""
        contract, body_at = self._writer_of(data)
        assert data is not None
        return read_body(data[body_at:], contract)

    def _writer_of(self, data: bytes | None) -> tuple[WriterContract, int]:
        """The schema the bytes were written with, and where the Avro body starts."""
        return self._contract_of(data), len(SINGLE_OBJECT_MARKER) + 8

    def _contract_of(self, data: bytes | None) -> WriterContract:
        if not data or len(data) < 10 or data[:2] != SINGLE_OBJECT_MARKER:
            raise DecodeError("not Avro single-object encoding (missing C3 01 marker)")
        (fp_value,) = struct.unpack("<Q", data[2:10])
        contract = self.catalog.by_fingerprint.get(data[2:10])
        if contract is None:
            raise DecodeError(f"unknown or non-event schema fingerprint {fp_value:016x}")
        return contract


def read_body(data: bytes, contract: WriterContract) -> dict[str, Any]:
    """An Avro binary body written with `contract.writer`, resolved to `contract.reader`, checked to be whole."""
    body = io.BytesIO(data)
    try:
        record = schemaless_reader(body, contract.writer.schema, contract.reader.schema)
    except Exception as exc:  # fastavro raises several types for truncated or corrupt bodies
        raise DecodeError(f"body of {contract.writer.name} does not decode: {type(exc).__name__}") from exc
    if body.read(1):
        raise DecodeError(f"{contract.writer.name} has trailing bytes after the record")
    if not isinstance(record, dict):
        raise DecodeError(f"{contract.writer.name} decoded to {type(record).__name__}, expected a record")
    if record.get("event_type") != contract.reader.event_type:
        raise DecodeError(f"{contract.writer.name} carries the event_type of another event")
    return record
