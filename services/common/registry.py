"""Events in the Confluent Schema Registry wire format (magic byte 0, 4-byte schema id, Avro binary body).

Used where CCPA_SCHEMA_REGISTRY_URL is set. Writing goes through confluent-kafka's own AvroSerializer (registration
under the subject, the registry's compatibility check, the framing); reading accepts both encodings by their first
bytes, so a topic can hold single-object events from before the switch and wire-format events after it.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, topic_record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError
from fastavro import parse_schema
from fastavro.schema import to_parsing_canonical_form

from services.common.errors import TransientError
from services.common.events import Event
from services.common.serde import (
    Contract,
    DecodeError,
    SchemaCatalog,
    SingleObjectCodec,
    WriterContract,
    fingerprint_bytes,
)
from services.common.topics import EVENT_TYPES_ON, TopicNames

WIRE_MAGIC = b"\x00"
WIRE_HEADER_BYTES = 5
WIRE_CONTENT_TYPE = "application/vnd.confluent.avro"
INCOMPATIBLE = 409  # the registry's HTTP status (and error code) for a schema its compatibility rule refuses


class SchemaRegistryRefused(RuntimeError):
    """The registry would not register an event's schema under its subject (incompatible, invalid, forbidden)."""

    def __init__(self, subject: str, error: SchemaRegistryError) -> None:
        self.subject = subject
        self.incompatible = error.http_status_code == INCOMPATIBLE
        reason = "is incompatible with the versions already registered" if self.incompatible else "was refused"
        super().__init__(
            f"the schema registry refused the schema of subject {subject!r}: it {reason} "
            f"(HTTP {error.http_status_code}, registry code {error.error_code}: {error.error_message})"
        )


class SchemaRegistryUnavailable(TransientError):
    """The registry did not answer (down, unreachable, TLS refused): a handler publishing through it is retried with
    backoff and its event kept, never dead-lettered for an outage."""


def subject_for(topic: str, contract: Contract) -> str:
    """TopicRecordNameStrategy: `<topic>-<record full name>`, as confluent-kafka's strategy names it."""
    return f"{topic}-{contract.name}"


def registry_schema(contract: Contract) -> str:
    """The schema as the registry stores it: the .avsc with its nested records inlined, docs and defaults kept
    (the registry's compatibility check needs the defaults; fastavro's bookkeeping keys are dropped)."""
    return json.dumps(_without_fastavro_keys(contract.schema), sort_keys=True)


def _without_fastavro_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _without_fastavro_keys(value) for key, value in node.items() if not key.startswith("__")}
    if isinstance(node, list):
        return [_without_fastavro_keys(item) for item in node]
    return node


class RegistryCodec(SingleObjectCodec):
    """Writes the Confluent wire format with each event's schema under its topic's subject; reads both encodings."""

    content_type = WIRE_CONTENT_TYPE

    def __init__(self, client: SchemaRegistryClient, urls: str, catalog: SchemaCatalog | None = None) -> None:
        super().__init__(catalog)
        self.client = client
        self.where = ", ".join(_without_userinfo(url) for url in urls.split(","))
        self._serializers: dict[str, AvroSerializer] = {}
        self._writers: dict[int, WriterContract] = {}
        self._lock = threading.Lock()

    def encode(self, event: Event, topic: str | None = None) -> bytes:
        """Registers the schema under `<topic>-<record name>` on first use (the registry checks compatibility)."""
        if topic is None:
            raise ValueError("the Confluent wire format names its subject after the topic: encode(event, topic)")
        contract = self.catalog.for_event_type(event.event_type)
        context = SerializationContext(topic, MessageField.VALUE)
        with self._calling(f"registering {subject_for(topic, contract)!r}"):
            try:
                data = self._serializer(contract)(event.to_record(), context)
            except SchemaRegistryError as exc:
                raise SchemaRegistryRefused(subject_for(topic, contract), exc) from exc
        assert data is not None
        return data

    def prepare(self, topics: TopicNames) -> None:
        """Register every event type under every topic it is published on (EVENT_TYPES_ON), so a schema change the
        registry refuses stops the service at start-up, before it takes a request it could not publish."""
        for base_name, event_types in sorted(EVENT_TYPES_ON.items()):
            for event_type in sorted(event_types):
                self.register(f"{topics.namespace}{base_name}", event_type)

    def register(self, topic: str, event_type: str) -> int:
        """Register (or find) an event type's current schema under its subject: the start-up check of a change."""
        contract = self.catalog.for_event_type(event_type)
        subject = subject_for(topic, contract)
        with self._calling(f"registering {subject!r}"):
            try:
                return self.client.register_schema(subject, Schema(registry_schema(contract), "AVRO"))
            except SchemaRegistryError as exc:
                raise SchemaRegistryRefused(subject, exc) from exc

    def _serializer(self, contract: Contract) -> AvroSerializer:
        with self._lock:
            if contract.name not in self._serializers:
                conf = {"auto.register.schemas": True, "subject.name.strategy": topic_record_subject_name_strategy}
                self._serializers[contract.name] = AvroSerializer(self.client, registry_schema(contract), conf=conf)
            return self._serializers[contract.name]

    def _writer_of(self, data: bytes | None) -> tuple[WriterContract, int]:
        if data and data[:1] == WIRE_MAGIC:
            return self._wire_contract(data), WIRE_HEADER_BYTES
        return super()._writer_of(data)

    def _wire_contract(self, data: bytes) -> WriterContract:
        # The 5-byte header is read by hand: the stock AvroDeserializer resolves every message onto one reader
        # schema fixed when it is built, while a topic here carries several event types, each read with its own.
        if len(data) <= WIRE_HEADER_BYTES:
            raise DecodeError("Confluent wire format too short: no Avro body after the 5-byte header")
        (schema_id,) = struct.unpack(">I", data[1:WIRE_HEADER_BYTES])
        with self._lock:
            known = self._writers.get(schema_id)
        if known is None:
            known = self._fetch_writer(schema_id)
            with self._lock:
                self._writers[schema_id] = known
        return known

    def _fetch_writer(self, schema_id: int) -> WriterContract:
        with self._calling(f"looking up schema id {schema_id}"):
            try:
                schema = self.client.get_schema(schema_id)
            except SchemaRegistryError as exc:
                raise DecodeError(f"schema id {schema_id} is unknown to the registry ({exc.error_message})") from exc
        if (schema.schema_type or "AVRO") != "AVRO" or schema.schema_str is None:
            raise DecodeError(f"schema id {schema_id} is a {schema.schema_type} schema, not Avro")
        parsed = parse_schema(json.loads(schema.schema_str))
        name = str(parsed.get("name", "")) if isinstance(parsed, dict) else ""
        reader = self.catalog.by_name.get(name)
        if reader is None or not reader.is_event:
            raise DecodeError(f"schema id {schema_id} is {name or 'not a named record'}, not an event schema we read")
        writer = Contract(name, parsed, fingerprint_bytes(to_parsing_canonical_form(parsed)))
        return WriterContract(writer, reader)

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        """Transport failures (the client raises its HTTP library's own errors) become one error naming the registry."""
        try:
            yield
        except (SchemaRegistryError, SchemaRegistryRefused, DecodeError, SerializationError, ValueError, TypeError,
                LookupError):  # fmt: skip
            raise  # the registry answered, or the record does not fit its schema: not an outage to retry
        except Exception as exc:
            raise SchemaRegistryUnavailable(
                f"the schema registry at {self.where} did not answer while {what}: {type(exc).__name__}"
            ) from exc


def _without_userinfo(url: str) -> str:
    """The URL to name in an error: user:password (refused in the settings, but a client may be built by hand) cut."""
    parts = urlsplit(url.strip())
    if not parts.hostname:
        return url
    return parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl()
