"""Every current schema must stay backward and forward compatible with the latest released schemas."""

from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import load_schema

from tests.avro_samples import generated_records

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
CURRENT = SCHEMAS / "events"
RELEASED = SCHEMAS / "released"
GENERATED_PER_SCHEMA = 25


def latest_release(root: Path = RELEASED) -> Path:
    releases = [path for path in root.iterdir() if path.is_dir() and path.name.isdigit()]
    if not releases:
        raise AssertionError(f"no release folder (a number) under {root}")
    return max(releases, key=lambda path: int(path.name))


RELEASED_FILES = sorted(path.name for path in latest_release().glob("*.avsc"))


def expanded(path: Path) -> dict[str, Any]:
    """The schema with every referenced named type inlined (load_schema reads siblings by full name)."""
    schema = load_schema(str(path))
    assert isinstance(schema, dict), f"{path} is not a named record schema"
    return schema


def incompatibilities(reader: dict[str, Any], writer: dict[str, Any]) -> set[str]:
    """Empty when data written with `writer` can be read with `reader`, else the checker's messages."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return set()
    return set(result.messages) or {"incompatible"}


def payload_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    payload = next(field for field in schema["fields"] if field["name"] == "payload")
    fields: list[dict[str, Any]] = payload["type"]["fields"]
    return fields


def test_release_folder_holds_schemas() -> None:
    assert RELEASED_FILES, f"{latest_release()} has no .avsc files"
    assert "privacy.events.RequestSubmitted.avsc" in RELEASED_FILES


def test_latest_release_is_the_highest_number(tmp_path: Path) -> None:
    for name in ("1", "9", "10", "drafts"):
        (tmp_path / name).mkdir()
    # "10" must beat "9": releases compare as numbers, not strings; other folders are not releases.
    assert latest_release(tmp_path).name == "10"


@pytest.mark.parametrize("file_name", RELEASED_FILES)
def test_current_schema_exists_for_released_one(file_name: str) -> None:
    assert (CURRENT / file_name).is_file(), f"{file_name} was released and must not be deleted from {CURRENT}"


@pytest.mark.parametrize("file_name", RELEASED_FILES)
def test_loaded_schema_names_are_fully_qualified(file_name: str) -> None:
    schema = expanded(CURRENT / file_name)
    assert schema["name"] == file_name.removesuffix(".avsc")


@pytest.mark.parametrize("file_name", RELEASED_FILES)
def test_current_reads_released_data_backward(file_name: str) -> None:
    released, current = expanded(latest_release() / file_name), expanded(CURRENT / file_name)
    assert incompatibilities(reader=current, writer=released) == set()


@pytest.mark.parametrize("file_name", RELEASED_FILES)
def test_released_reads_current_data_forward(file_name: str) -> None:
    released, current = expanded(latest_release() / file_name), expanded(CURRENT / file_name)
    assert incompatibilities(reader=released, writer=current) == set()


@pytest.mark.parametrize("file_name", RELEASED_FILES)
def test_generated_released_records_read_with_current_schema(file_name: str) -> None:
    released, current = expanded(latest_release() / file_name), expanded(CURRENT / file_name)
    records = generated_records(released, GENERATED_PER_SCHEMA, seed=file_name)
    for record in records:
        buffer = io.BytesIO()
        schemaless_writer(buffer, released, record)
        data = buffer.getvalue()
        as_written = schemaless_reader(io.BytesIO(data), released, None)
        body = io.BytesIO(data)
        resolved = schemaless_reader(body, released, current)
        assert body.read() == b"", "the current schema left bytes of the released record unread"
        assert isinstance(resolved, dict)
        assert set(resolved) == {field["name"] for field in current["fields"]}
        assert_keeps_values(as_written, resolved)


def assert_keeps_values(written: Any, resolved: Any) -> None:
    """Every value the released schema wrote reads back the same; fields the current one added are extra."""
    if isinstance(written, dict) and isinstance(resolved, dict):
        for name, value in written.items():
            assert name in resolved, f"field {name} lost in resolution"
            assert_keeps_values(value, resolved[name])
    else:
        assert resolved == written


class TestTheCheckCanFail:
    """Mutations the release rule forbids must be caught, or the compatibility tests prove nothing."""

    @pytest.fixture
    def extended(self) -> dict[str, Any]:
        return expanded(CURRENT / "privacy.events.RequestExtended.avsc")

    def test_unchanged_copy_is_compatible(self, extended: dict[str, Any]) -> None:
        assert incompatibilities(copy.deepcopy(extended), extended) == set()

    def test_added_field_without_default_breaks_backward(self, extended: dict[str, Any]) -> None:
        mutated = copy.deepcopy(extended)
        payload_fields(mutated).append({"name": "handled_by", "type": "string"})
        assert incompatibilities(reader=mutated, writer=extended) != set()
        # Old readers ignore the new field: only one direction breaks, which the rule still forbids.
        assert incompatibilities(reader=extended, writer=mutated) == set()

    def test_added_field_with_default_is_allowed(self, extended: dict[str, Any]) -> None:
        mutated = copy.deepcopy(extended)
        payload_fields(mutated).append({"name": "handled_by", "type": ["null", "string"], "default": None})
        assert incompatibilities(reader=mutated, writer=extended) == set()
        assert incompatibilities(reader=extended, writer=mutated) == set()

    def test_removed_field_without_default_breaks_forward(self, extended: dict[str, Any]) -> None:
        mutated = copy.deepcopy(extended)
        kept = [field for field in payload_fields(mutated) if field["name"] != "reason"]
        mutated["fields"][-1]["type"]["fields"] = kept
        assert incompatibilities(reader=extended, writer=mutated) != set()

    def test_changed_type_breaks_both_ways(self, extended: dict[str, Any]) -> None:
        mutated = copy.deepcopy(extended)
        next(f for f in payload_fields(mutated) if f["name"] == "reason")["type"] = "int"
        assert incompatibilities(reader=mutated, writer=extended) != set()
        assert incompatibilities(reader=extended, writer=mutated) != set()

    def test_mutated_release_on_disk_is_detected(self, tmp_path: Path) -> None:
        # The same file layout as schemas/released/N, with one schema changed as a careless edit would.
        for path in CURRENT.glob("*.avsc"):
            shutil.copy(path, tmp_path / path.name)
        target = tmp_path / "privacy.events.RequestDenied.avsc"
        document = json.loads(target.read_text())
        next(f for f in payload_fields(document) if f["name"] == "basis")["type"] = "long"
        target.write_text(json.dumps(document))
        current = expanded(CURRENT / target.name)
        assert incompatibilities(reader=current, writer=expanded(target)) != set()
        assert incompatibilities(reader=expanded(target), writer=current) != set()
