"""Running counts per field while values stream past: how many were sampled, how many matched each detector.

Values are looked at once and dropped; a profile holds counts only, so nothing sampled can leak into a result.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from services.discovery.scanner.content import ContentTally
from services.discovery.scanner.detectors import Kind, contains, detect, worth_searching
from services.discovery.scanner.model import Destination
from services.discovery.scanner.names import NameHint, hint


class FieldProfile:
    def __init__(self, name: str, destination: Destination | None = None) -> None:
        self.name = name
        self.content = ContentTally(destination) if destination else None  # sold or shared: what it reveals
        self.hint: NameHint = hint(name)
        self.sampled = 0  # non-empty values
        self.flags = 0  # booleans: a field of them holds no name, password or device id
        self.whole: Counter[Kind] = Counter()
        self.in_text: Counter[Kind] = Counter()

    def observe(self, value: Any) -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return
        self.sampled += 1
        if isinstance(value, bool):
            self.flags += 1
            return
        if isinstance(value, dict | list):
            value = json.dumps(value, default=str)  # a JSON column: searched as text
        if not isinstance(value, str | int | float | Decimal | date):
            value = str(value)  # UUIDs, times, intervals
        if self.content is not None and isinstance(value, str):
            self.content.observe(value)
        kind = detect(value, self.hint.cue)
        if kind is not None:
            self.whole[kind] += 1
        elif isinstance(value, str) and worth_searching(value):
            self.in_text.update(contains(value))

    @property
    def valued(self) -> int:
        """Non-empty values that are more than a true/false flag."""
        return self.sampled - self.flags


class CollectionProfile:
    def __init__(self, name: str, destinations: Mapping[str, Destination] | None = None) -> None:
        self.name = name
        self.destinations = {field.lower(): where for field, where in (destinations or {}).items()}
        self.records = 0
        self.fields: dict[str, FieldProfile] = {}
        self.skipped: set[str] = set()
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.value_types: Counter[str] = Counter()
        self.primary_key: tuple[str, ...] = ()
        self.index_leads: frozenset[str] | None = None  # sql tables: what their indexes serve
        self.case_insensitive: frozenset[str] = frozenset()

    def declare(self, names: Iterable[str]) -> None:
        for name in names:
            self.field(name)

    def field(self, name: str) -> FieldProfile:
        if name not in self.fields:
            self.fields[name] = FieldProfile(name, self.destinations.get(name.lower()))
        return self.fields[name]

    def observe(self, record: Iterable[tuple[str, Any]]) -> None:
        self.records += 1
        for name, value in record:
            self.field(name).observe(value)
