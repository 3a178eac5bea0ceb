"""The right-to-know report document (§1798.110, §7024): what the consumer receives, already redacted.

Nothing in these types holds a §7024(d) value: build.py replaces it before a report exists, so no renderer can leak it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, TypeAlias

FORMAT_VERSION = "1.0"

REPORT_TYPES: tuple[str, ...] = ("know_categories", "know_specific")
STORE_STATUSES: tuple[str, ...] = ("found", "none", "not_searched", "unavailable")
Relation = Literal["disclosed", "sold", "shared"]
# A piece's value after normalisation: what JSON can carry, dict keys sorted.
PieceValue: TypeAlias = str | int | float | bool | list["PieceValue"] | dict[str, "PieceValue"] | None


@dataclass(frozen=True)
class ReportRequest:
    request_id: str
    request_type: str
    received_at: datetime
    generated_at: datetime
    date_range_start: date | None = None
    date_range_end: date | None = None
    subject_type: str = "consumer"  # whose records were searched (the data map's subject_types)

    def __post_init__(self) -> None:
        if self.request_type not in REPORT_TYPES:
            raise ValueError(f"no report for request type {self.request_type!r}; expected one of: "
                             + ", ".join(REPORT_TYPES))  # fmt: skip
        for name in ("received_at", "generated_at"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, got {getattr(self, name).isoformat()}")


@dataclass(frozen=True)
class StoreOutcome:
    """What discovery reports for one store: found, none, not_searched, or unavailable (it never answered)."""

    status: str
    records: int = 0

    def __post_init__(self) -> None:
        if self.status not in STORE_STATUSES:
            raise ValueError(f"unknown store status {self.status!r}; expected one of: " + ", ".join(STORE_STATUSES))


@dataclass(frozen=True)
class Period:
    start: date
    end: date


@dataclass(frozen=True)
class CategoryFound:
    code: str
    name: str
    sensitive: tuple[str, ...]  # sub-category names, for L
    examples: tuple[str, ...]  # field labels, never values


@dataclass(frozen=True)
class Origin:
    """A source or a purpose, with the categories (codes) of personal information it concerns."""

    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class RecipientCategory:
    relation: Relation
    recipient_category: str
    role: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class SearchedStore:
    store: str
    description: str | None
    status: Literal["found", "none"]
    records: int  # in the period covered


@dataclass(frozen=True)
class NotSearched:
    store: str
    collection: str | None
    description: str | None
    reason: str


@dataclass(frozen=True)
class Withheld:
    kind: str
    kind_name: str
    store: str
    collection: str
    statement: str


@dataclass(frozen=True)
class Piece:
    field: str
    label: str
    category: str | None
    value: PieceValue  # None when withheld
    withheld: str | None  # the §7024(d) kind


@dataclass(frozen=True)
class RecordPieces:
    record: str
    occurred_at: datetime | None
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class CollectionPieces:
    collection: str
    description: str | None
    records: tuple[RecordPieces, ...]


@dataclass(frozen=True)
class StorePieces:
    store: str
    description: str | None
    collections: tuple[CollectionPieces, ...]


@dataclass(frozen=True)
class Report:
    request_id: str
    request_type: str
    business: str
    received_at: datetime
    generated_at: datetime
    period: Period
    summary: str
    categories: tuple[CategoryFound, ...]
    sources: tuple[Origin, ...]
    purposes: tuple[Origin, ...]
    recipients: tuple[RecipientCategory, ...]
    searched: tuple[SearchedStore, ...]
    not_searched: tuple[NotSearched, ...]
    withheld: tuple[Withheld, ...]  # empty for know_categories
    specific_pieces: tuple[StorePieces, ...]  # empty for know_categories
    record_count: int  # records about the subject in the period, for both request types

    @property
    def specific(self) -> bool:
        return self.request_type == "know_specific"

    @property
    def period_start(self) -> date:
        return self.period.start

    @property
    def period_end(self) -> date:
        return self.period.end


def iso(moment: datetime | date) -> str:
    """ISO-8601; aware datetimes in UTC so the same instant always reads the same."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(UTC).isoformat()
    return moment.isoformat()
