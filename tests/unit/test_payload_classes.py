"""The typed event classes (services/common/payloads) against schemas/events, field by field: name, type,
optionality, nested records and defaults; a field in one and not the other fails here."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from devtools import payloadgen
from services.common import payloads
from services.common.event_types import EventType
from services.common.payloads import PAYLOAD_TYPES
from services.common.records import Record

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "events"
PRIMITIVES: dict[str, type] = {"string": str, "boolean": bool, "int": int, "long": int, "bytes": bytes}
LOGICAL: dict[str, type] = {"timestamp-micros": datetime, "date": date, "uuid": str}
MISSING = object()


def schema_files() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(SCHEMAS.glob("*.avsc"))}


def short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def record_classes() -> dict[str, type[Record]]:
    """Every Record class of the payload modules, by name."""
    found: dict[str, type[Record]] = {}
    for module_name in ("shared", "requests", "discovery", "deletion", "consent", "deadlines", "operator", "flows"):
        module = getattr(payloads, module_name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Record) and value is not Record:
                found[value.__name__] = value
    return found


def named_records() -> dict[str, dict[str, Any]]:
    """Every Avro record the schemas declare (payloads and those nested in them, named inline or in a file)."""
    named: dict[str, dict[str, Any]] = {}

    def walk(avro: Any) -> None:
        if isinstance(avro, list):
            for branch in avro:
                walk(branch)
        elif isinstance(avro, dict):
            if avro.get("type") == "record":
                named[short(avro["name"])] = avro
                for field in avro["fields"]:
                    walk(field["type"])
            elif avro.get("type") == "array":
                walk(avro["items"])

    for schema in schema_files().values():
        if any(field["name"] == "event_type" for field in schema["fields"]):
            walk(next(field["type"] for field in schema["fields"] if field["name"] == "payload"))
        else:
            walk(schema)
    return named


def expected_type(avro: Any, classes: dict[str, type[Record]]) -> Any:
    """The annotation a field of this Avro type must carry."""
    if isinstance(avro, list):
        [branch] = [b for b in avro if b != "null"]
        return expected_type(branch, classes) | None
    if isinstance(avro, str):
        return PRIMITIVES.get(avro) or classes[short(avro)]
    if "logicalType" in avro:
        return LOGICAL[avro["logicalType"]]
    if avro["type"] == "array":
        return tuple[expected_type(avro["items"], classes), ...]
    if avro["type"] == "record":
        return classes[short(avro["name"])]
    return expected_type(avro["type"], classes)


def expected_default(field: dict[str, Any]) -> Any:
    if "default" not in field:
        return MISSING
    return tuple(field["default"]) if isinstance(field["default"], list) else field["default"]


def class_default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return MISSING


def test_every_schema_record_has_a_class_and_every_class_a_record() -> None:
    assert sorted(record_classes()) == sorted(named_records())


@pytest.mark.parametrize("record_name", sorted(named_records()))
def test_fields_match_the_schema_in_name_order_type_optionality_and_default(record_name: str) -> None:
    classes, schema = record_classes(), named_records()[record_name]
    cls = classes[record_name]
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    assert [field.name for field in fields] == [field["name"] for field in schema["fields"]]
    for field, avro in zip(fields, schema["fields"], strict=True):
        assert hints[field.name] == expected_type(avro["type"], classes), f"{record_name}.{field.name} type"
        assert class_default(field) == expected_default(avro), f"{record_name}.{field.name} default"
        optional = isinstance(avro["type"], list) and "null" in avro["type"]
        is_union = typing.get_origin(hints[field.name]) is types.UnionType
        assert is_union == optional, f"{record_name}.{field.name} optionality"


def test_every_event_type_decodes_into_its_payload_class() -> None:
    events = {short(s["name"]): s for s in schema_files().values() if any(f["name"] == "payload" for f in s["fields"])}
    assert sorted(EventType) == sorted(events)
    for name, schema in events.items():
        payload = next(field["type"] for field in schema["fields"] if field["name"] == "payload")
        assert PAYLOAD_TYPES[EventType(name)].__name__ == short(payload["name"])


def test_the_classes_are_frozen() -> None:
    for cls in record_classes().values():
        assert cls.__dataclass_params__.frozen, cls.__name__


def test_the_generator_reproduces_the_committed_classes_up_to_formatting() -> None:
    """Running `python -m devtools.payloadgen` now would add or drop no class and no field."""
    for path, text in payloadgen.outputs():
        committed = path.read_text()
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith(("class ", "@dataclass")) or (": " in stripped and stripped[0].islower()):
                assert stripped in committed, f"{path.name}: {stripped!r} is missing; run python -m devtools.payloadgen"


def test_a_field_the_schema_lacks_is_refused_and_a_missing_required_one_named() -> None:
    submitted = PAYLOAD_TYPES[EventType.REQUEST_COMPLETED]
    with pytest.raises(ValueError, match="RequestCompletedPayload has no field handled_by"):
        submitted.from_record({"outcome": "complied", "summary": "", "handled_by": "x"})
    with pytest.raises(ValueError, match="summary"):
        submitted.from_record({"outcome": "complied"})
