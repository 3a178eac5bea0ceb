"""Identity verification of consumer requests (Regs §7060-7062): match supplied data points against a record.
The identity store is pluggable: SQL in production, in-memory for unit tests and the demo; each subject type has its
own (customers for consumers, the applicant-tracking records for job applicants), and a type without one verifies
nobody."""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, Protocol

import sqlalchemy as sa

from services.common.identity import (
    IDENTIFIER_PRIORITY,
    IdentifierKind,
    InvalidIdentifier,
    identifier_kind,
    normalise,
)
from services.common.request_types import RequestType
from services.common.subject_types import SubjectType

REASONABLE_MIN_POINTS = 2
REASONABLY_HIGH_MIN_POINTS = 3
_IDENTIFIER_KEYS = frozenset(kind.value for kind in IdentifierKind)


class VerificationLevel(StrEnum):
    NONE = "none"
    REASONABLE = "reasonable"
    REASONABLY_HIGH = "reasonably_high"


_RANK = {VerificationLevel.NONE: 0, VerificationLevel.REASONABLE: 1, VerificationLevel.REASONABLY_HIGH: 2}
_DEFAULT_LEVELS: Mapping[RequestType, VerificationLevel] = MappingProxyType(
    {
        RequestType.OPT_OUT: VerificationLevel.NONE,
        RequestType.LIMIT: VerificationLevel.NONE,
        RequestType.OPT_IN: VerificationLevel.NONE,
        RequestType.KNOW_CATEGORIES: VerificationLevel.REASONABLE,
        RequestType.KNOW_SPECIFIC: VerificationLevel.REASONABLY_HIGH,
        RequestType.DELETE: VerificationLevel.REASONABLE,
        RequestType.CORRECT: VerificationLevel.REASONABLE,
    }
)
# §7062: delete/correct may need the higher level when the PI is sensitive; nothing else may be changed.
_OVERRIDABLE = frozenset({RequestType.DELETE, RequestType.CORRECT})
_OVERRIDE_LEVELS = frozenset({VerificationLevel.REASONABLE, VerificationLevel.REASONABLY_HIGH})

Outcome = Literal["not_required", "verified", "insufficient", "no_match"]


def required_level(request_type: RequestType) -> VerificationLevel:
    """Default level: none for the opt-out family (§7060(b) forbids verifying), else per §7062."""
    return _DEFAULT_LEVELS[RequestType(request_type)]


@dataclass(frozen=True)
class IdentityRecord:
    data_points: Mapping[str, str]


class IdentitySource(Protocol):
    def find(self, identifiers: Mapping[IdentifierKind, str]) -> IdentityRecord | None:
        """The one record matching normalised identifiers, or None when none (or no single one) matches."""
        ...


@dataclass(frozen=True)
class VerificationResult:
    required: VerificationLevel
    achieved: VerificationLevel
    matched_points: int
    outcome: Outcome
    reason: str


def normalise_identifier_points(points: Mapping[str, Any]) -> dict[str, str]:
    """Data points as strings, identifier keys normalised; invalid or empty values are dropped."""
    normalised: dict[str, str] = {}
    for key, value in points.items():
        if value is None:
            continue
        try:
            text = normalise(key, str(value)) if key in _IDENTIFIER_KEYS else str(value)
        except InvalidIdentifier:
            continue
        if text.strip():
            normalised[key] = text
    return normalised


def _fold(value: str) -> str:
    # NFKC so composed and decomposed accents, or full-width digits, compare equal.
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


def _canonical(points: Mapping[str, Any]) -> dict[str, str]:
    return {key: _fold(value) for key, value in normalise_identifier_points(points).items()}


def count_matching_points(claimed: Mapping[str, str], held: Mapping[str, str]) -> int:
    """How many claimed data points equal the held ones; keys the record lacks never count."""
    claimed_canonical, held_canonical = _canonical(claimed), _canonical(held)
    matched = 0
    for key, value in claimed_canonical.items():
        # Constant time, so response timing does not reveal how much of a guessed value was right.
        if key in held_canonical and hmac.compare_digest(value.encode(), held_canonical[key].encode()):
            matched += 1
    return matched


def count_proven(proven: frozenset[IdentifierKind], identifiers: Mapping[IdentifierKind, str],
                 record: IdentityRecord) -> int:  # fmt: skip
    """The proven factors that count: those whose identifier was given and matches the record."""
    given = {kind.value: value for kind, value in identifiers.items() if kind in proven}
    return count_matching_points(given, record.data_points)


def achieved_level(matched_points: int, signed_declaration: bool) -> VerificationLevel:
    """The highest level the matched points (and declaration under penalty of perjury) satisfy."""
    if matched_points >= REASONABLY_HIGH_MIN_POINTS and signed_declaration:
        return VerificationLevel.REASONABLY_HIGH
    if matched_points >= REASONABLE_MIN_POINTS:
        return VerificationLevel.REASONABLE
    return VerificationLevel.NONE


class Verifier:
    """Decides whether a request is verified to the level its type requires."""

    def __init__(
        self,
        source: IdentitySource,
        overrides: Mapping[RequestType, VerificationLevel] | None = None,
        others: Mapping[SubjectType, IdentitySource] | None = None,
    ) -> None:
        """`source`: the consumers' records; `others`: the records of other subject types (job applicants...)."""
        self._sources: dict[SubjectType, IdentitySource] = {**(others or {}), SubjectType.CONSUMER: source}
        self._overrides = _checked_overrides(overrides or {})

    def required_level(self, request_type: RequestType) -> VerificationLevel:
        request_type = RequestType(request_type)
        return self._overrides.get(request_type, required_level(request_type))

    def verify(
        self,
        request_type: RequestType,
        identifiers: Mapping[IdentifierKind, str],
        data_points: Mapping[str, str],
        signed_declaration: bool,
        proven: frozenset[IdentifierKind] = frozenset(),
        subject_type: SubjectType = SubjectType.CONSUMER,
    ) -> VerificationResult:
        """Verify without side effects; an unverified know_specific may be served as categories (§7024(a)).

        `proven`: identifiers whose control the consumer proved (an e-mailed code typed back); each counts as one
        more matched data point when it matches the record. `subject_type` chooses the records matched against: a
        job applicant is matched against applicants, never against customers."""
        required = self.required_level(request_type)
        if required is VerificationLevel.NONE:
            return _not_required()
        normalised = {identifier_kind(kind): normalise(kind, raw) for kind, raw in identifiers.items()}
        source = self._sources.get(SubjectType(subject_type))
        record = source.find(normalised) if normalised and source is not None else None
        if record is None:
            return _no_match(required)
        claimed = {**data_points, **{kind.value: value for kind, value in normalised.items()}}
        matched = count_matching_points(claimed, record.data_points) + count_proven(proven, normalised, record)
        return _graded(required, matched, signed_declaration)


def _checked_overrides(
    overrides: Mapping[RequestType, VerificationLevel],
) -> dict[RequestType, VerificationLevel]:
    checked = {RequestType(kind): VerificationLevel(level) for kind, level in overrides.items()}
    for request_type, level in checked.items():
        if request_type not in _OVERRIDABLE or level not in _OVERRIDE_LEVELS:
            raise ValueError(
                f"cannot set the verification level of {request_type} to {level}: only delete and correct "
                "may be overridden, and only to reasonable or reasonably_high"
            )
    return checked


def _not_required() -> VerificationResult:
    return VerificationResult(
        required=VerificationLevel.NONE,
        achieved=VerificationLevel.NONE,
        matched_points=0,
        outcome="not_required",
        reason="opt-out, limit and opt-in requests must not be verified (§7060(b))",
    )


def _no_match(required: VerificationLevel) -> VerificationResult:
    return VerificationResult(
        required=required,
        achieved=VerificationLevel.NONE,
        matched_points=0,
        outcome="no_match",
        reason="no single identity record matches the identifiers provided",
    )


def _graded(required: VerificationLevel, matched: int, signed_declaration: bool) -> VerificationResult:
    achieved = achieved_level(matched, signed_declaration)
    verified = _RANK[achieved] >= _RANK[required]
    return VerificationResult(
        required=required,
        achieved=achieved,
        matched_points=matched,
        outcome="verified" if verified else "insufficient",
        reason=_grading_reason(required, matched, signed_declaration, verified),
    )


def _grading_reason(required: VerificationLevel, matched: int, signed: bool, verified: bool) -> str:
    if verified:
        return f"{matched} data points matched, which satisfies {required}"
    if required is VerificationLevel.REASONABLE:
        return f"{matched} data points matched; reasonable needs at least {REASONABLE_MIN_POINTS}"
    declaration = "signed" if signed else "missing"
    return (
        f"{matched} data points matched and the declaration under penalty of perjury is {declaration}; "
        f"reasonably_high needs at least {REASONABLY_HIGH_MIN_POINTS} and a signed declaration"
    )


class StaticIdentitySource:
    """In-memory identity records, for unit tests and the demo."""

    def __init__(self, records: Iterable[IdentityRecord]) -> None:
        self._records = tuple((record, normalise_identifier_points(record.data_points)) for record in records)

    def find(self, identifiers: Mapping[IdentifierKind, str]) -> IdentityRecord | None:
        for kind in IDENTIFIER_PRIORITY:
            if kind in identifiers:
                hits = [record for record, held in self._records if held.get(kind) == identifiers[kind]]
                # An identifier shared by several records (e.g. a family device) identifies nobody.
                if len(hits) == 1:
                    return hits[0]
        return None


class SqlIdentitySource:
    """Identity records in one SQL table; columns maps data-point names (email, name, …) to column names.

    Identifier columns are compared after trim (and lower-case for email); phone columns must hold E.164.
    """

    def __init__(self, url: str, table: str, columns: Mapping[str, str]) -> None:
        if not _IDENTIFIER_KEYS.intersection(columns):
            raise ValueError("columns must map email, phone, account_id or device_id to a column")
        schema, _, name = table.rpartition(".")
        distinct_columns = dict.fromkeys(columns.values())
        self._table = sa.table(name, *(sa.column(c) for c in distinct_columns), schema=schema or None)
        self._columns = dict(columns)
        self._selected = [self._table.c[column].label(key) for key, column in columns.items()]
        self._engine = sa.create_engine(url, hide_parameters=True)  # identifiers are bound parameters

    def find(self, identifiers: Mapping[IdentifierKind, str]) -> IdentityRecord | None:
        with self._engine.connect() as connection:
            for kind in IDENTIFIER_PRIORITY:
                if kind in identifiers and kind.value in self._columns:
                    record = self._lookup(connection, kind, identifiers[kind])
                    if record is not None:
                        return record
        return None

    def dispose(self) -> None:
        self._engine.dispose()

    def _lookup(self, connection: sa.Connection, kind: IdentifierKind, value: str) -> IdentityRecord | None:
        # LIMIT 2: enough to tell a unique row from an identifier shared by several rows. The value as stored first
        # (a plain index serves it; most sources store the normal form), then trimmed/lower-cased (a scan without
        # an index on that expression) only when that found no single row.
        rows: Sequence[Any] = ()
        for compared in dict.fromkeys((self._table.c[self._columns[kind.value]], self._comparable(kind))):
            rows = connection.execute(sa.select(*self._selected).where(compared == value).limit(2)).all()
            if len(rows) == 1:
                break
        if len(rows) != 1:
            return None
        return IdentityRecord(normalise_identifier_points(dict(rows[0]._mapping)))

    def _comparable(self, kind: IdentifierKind) -> sa.ColumnElement[Any]:
        column = self._table.c[self._columns[kind.value]]
        if kind is IdentifierKind.EMAIL:
            return sa.func.lower(sa.func.trim(column))
        if kind is IdentifierKind.PHONE:
            return column
        return sa.func.trim(column)
