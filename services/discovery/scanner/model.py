"""What a scan finds, per store, collection and field: counts, kinds and ratios only, never a sampled value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.discovery.scanner.detectors import Kind

Status = Literal["covered", "unmapped_pi", "mapped_no_pi_seen", "clean"]
Confidence = Literal["high", "medium", "low"]
FieldKey = tuple[str, str, str]  # (store, collection, field)
FORMAT = "ccpa-pi-scan/1"


@dataclass(frozen=True)
class ScanOptions:
    sample_rows: int = 1000  # per SQL table
    redis_keys: int = 2000  # per Redis store
    log_lines: int = 5000  # per log stream, across its files
    min_ratio: float = 0.2  # share of non-empty values that must match for a finding on values alone
    text_ratio: float = 0.05  # the same for kinds found inside free text


@dataclass(frozen=True)
class Detection:
    kind: Kind
    matches: int
    ratio: float  # matches / non-empty sampled values
    in_text: bool  # found inside free text rather than as the whole value


@dataclass(frozen=True)
class Suggestion:
    category: str
    sensitive: str | None = None
    withheld: str | None = None
    identifies: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Destination:
    """Where the data map sends a field for sale or sharing: its recipients and the flows that carry it."""

    recipients: tuple[str, ...]
    flows: tuple[str, ...] = ()


@dataclass(frozen=True)
class Revealed:
    category: str  # a sensitive sub-category (services/common/sensitive.py)
    matches: int
    ratio: float  # matches / text values checked


@dataclass(frozen=True)
class ContentCheck:
    """What the values of a field bound for sale or sharing reveal (Healthline 2025): counts, never a value."""

    destination: Destination
    checked: int  # text values looked at
    revealed: tuple[Revealed, ...] = ()  # the most frequent category first
    marked_sensitive: str | None = None  # the data map's `sensitive` for the field, if any


@dataclass(frozen=True)
class FieldFinding:
    store: str
    collection: str
    field: str
    status: Status
    in_datamap: bool  # listed in the data map, with or without a category
    mapped_category: str | None
    sampled: int  # non-empty values sampled
    kinds: tuple[Kind, ...] = ()  # what the field holds, the strongest evidence first
    in_text: bool = False  # the first kind was found inside free text
    confidence: Confidence | None = None
    detections: tuple[Detection, ...] = ()  # every kind seen, also below the thresholds
    name_hint: Kind | None = None
    suggestion: Suggestion | None = None
    note: str | None = None
    content: ContentCheck | None = None  # only for fields the data map sells or shares

    @property
    def key(self) -> FieldKey:
        return (self.store, self.collection, self.field)

    @property
    def mapped(self) -> bool:
        return self.mapped_category is not None

    @property
    def reveals_sensitive(self) -> bool:
        return self.content is not None and bool(self.content.revealed)


@dataclass
class CollectionCoverage:
    name: str
    in_datamap: bool
    records: int = 0
    value_type: str | None = None  # redis: hash, json, string, list…
    primary_key: tuple[str, ...] = ()
    fields: list[FieldFinding] = field(default_factory=list)
    skipped_fields: list[str] = field(default_factory=list)  # binary columns, never sampled
    missing_fields: list[str] = field(default_factory=list)  # in the data map, not in the store
    unindexed_lookups: list[str] = field(default_factory=list)  # sql: `column` / `lower(column)` the walk scans for
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for finding in self.fields if finding.status == status)


@dataclass
class StoreCoverage:
    name: str
    kind: str
    scannable: bool = True
    error: str | None = None  # the store could not be reached
    note: str | None = None
    seconds: float = 0.0
    collections: list[CollectionCoverage] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(collection.records for collection in self.collections)

    @property
    def fields(self) -> list[FieldFinding]:
        return [finding for collection in self.collections for finding in collection.fields]

    def count(self, status: Status) -> int:
        return sum(collection.count(status) for collection in self.collections)


@dataclass
class ScanResult:
    source: str
    started_at: datetime
    options: ScanOptions
    seconds: float = 0.0
    stores: list[StoreCoverage] = field(default_factory=list)

    @property
    def records(self) -> int:
        """Rows, Redis keys and log lines sampled."""
        return sum(store.records for store in self.stores)

    @property
    def rows_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    @property
    def fields(self) -> list[FieldFinding]:
        return [finding for store in self.stores for finding in store.fields]

    @property
    def unmapped_pi(self) -> list[FieldFinding]:
        return [finding for finding in self.fields if finding.status == "unmapped_pi"]

    @property
    def revealing(self) -> list[FieldFinding]:
        """Fields bound for sale or sharing whose values reveal sensitive personal information."""
        return [finding for finding in self.fields if finding.reveals_sensitive]

    @property
    def unreachable(self) -> list[str]:
        return [store.name for store in self.stores if store.error]

    @property
    def incomplete(self) -> list[str]:
        """Stores not reached, or with a collection that could not be read."""
        return [store.name for store in self.stores
                if store.error or any(collection.problems for collection in store.collections)]  # fmt: skip

    def count(self, status: Status) -> int:
        return sum(store.count(status) for store in self.stores)


def result_json(result: ScanResult) -> dict[str, Any]:
    """The documented `--json` structure (docs/scanner.md)."""
    return {
        "format": FORMAT,
        "datamap": result.source,
        "started_at": result.started_at.isoformat(),
        "seconds": round(result.seconds, 3),
        "options": vars(result.options),
        "summary": {
            "stores": len(result.stores),
            "collections": sum(len(store.collections) for store in result.stores),
            "fields": len(result.fields),
            "records": result.records,
            "rows_per_second": round(result.rows_per_second, 1),
            **{status: result.count(status) for status in ("covered", "unmapped_pi", "mapped_no_pi_seen", "clean")},
            "unreachable": result.unreachable,
            "reveals_sensitive": len(result.revealing),
        },
        "stores": [_store_json(store) for store in result.stores],
    }


def _store_json(store: StoreCoverage) -> dict[str, Any]:
    return {
        "name": store.name,
        "kind": store.kind,
        "scannable": store.scannable,
        "error": store.error,
        "note": store.note,
        "records": store.records,
        "seconds": round(store.seconds, 3),
        "collections": [_collection_json(collection) for collection in store.collections],
    }


def _collection_json(collection: CollectionCoverage) -> dict[str, Any]:
    return {
        "name": collection.name,
        "in_datamap": collection.in_datamap,
        "records": collection.records,
        "value_type": collection.value_type,
        "skipped_fields": collection.skipped_fields,
        "missing_fields": collection.missing_fields,
        "unindexed_lookups": collection.unindexed_lookups,
        "problems": collection.problems,
        "notes": collection.notes,
        "fields": [_field_json(finding) for finding in collection.fields],
    }


def _field_json(finding: FieldFinding) -> dict[str, Any]:
    suggestion = finding.suggestion
    return {
        "name": finding.field,
        "status": finding.status,
        "in_datamap": finding.in_datamap,
        "mapped_category": finding.mapped_category,
        "sampled": finding.sampled,
        "kinds": [str(kind) for kind in finding.kinds],
        "in_text": finding.in_text,
        "confidence": finding.confidence,
        "name_hint": str(finding.name_hint) if finding.name_hint else None,
        "detections": [
            {"kind": str(d.kind), "matches": d.matches, "ratio": round(d.ratio, 4), "in_text": d.in_text}
            for d in finding.detections
        ],
        "suggestion": vars(suggestion) if suggestion else None,
        "note": finding.note,
        "content": _content_json(finding.content),
    }


def _content_json(content: ContentCheck | None) -> dict[str, Any] | None:
    if content is None:
        return None
    return {
        "recipients": list(content.destination.recipients),
        "flows": list(content.destination.flows),
        "checked": content.checked,
        "marked_sensitive": content.marked_sensitive,
        "reveals": [
            {"category": r.category, "matches": r.matches, "ratio": round(r.ratio, 4)} for r in content.revealed
        ],
    }
