"""Legal holds: a subject, a store, or one subject in one store that erasure must not touch while the hold lasts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa

from services.deletion.erasure.tables import legal_holds

HoldScope = Literal["subject", "store", "subject_in_store"]


@dataclass(frozen=True)
class LegalHold:
    """`reason` is shown in outcomes and on the timeline: name the matter, never a person's identifiers."""

    reason: str
    subject_key: str | None = None
    store: str | None = None
    hold_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    placed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    placed_by: str | None = None  # a console account's id

    @property
    def scope(self) -> HoldScope:
        """What it keeps: one subject everywhere, a whole store, or one subject in one store."""
        if self.subject_key is None:
            return "store"
        return "subject" if self.store is None else "subject_in_store"

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("a legal hold needs a reason, e.g. the matter it preserves evidence for")
        if self.subject_key is None and self.store is None:
            raise ValueError("a legal hold needs a subject_key, a store, or both")

    def covers(self, subject_key: str | None, store: str) -> bool:
        """Whether this hold keeps `store`'s records of the subject (None: a subject not known by key)."""
        if self.store is not None and self.store != store:
            return False
        return self.subject_key is None or self.subject_key == subject_key


def hold_for(holds: Iterable[LegalHold], subject_key: str | None, store: str) -> LegalHold | None:
    """The first hold covering the subject's records in the store, if any."""
    return next((hold for hold in holds if hold.covers(subject_key, store)), None)


class LegalHolds:
    """Holds persisted in the caller's database (`legal_holds` table); released holds stay for the record."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def place(self, reason: str, *, subject_key: str | None = None, store: str | None = None,
              placed_by: str | None = None) -> LegalHold:  # fmt: skip
        hold = LegalHold(reason, subject_key, store, placed_by=placed_by)
        with self.engine.begin() as conn:
            conn.execute(sa.insert(legal_holds).values(
                hold_id=hold.hold_id, subject_key=subject_key, store=store, reason=reason, placed_at=hold.placed_at,
                placed_by=placed_by,
            ))  # fmt: skip
        return hold

    def release(self, hold_id: str) -> bool:
        """True when an active hold of that id was released."""
        with self.engine.begin() as conn:
            active = (legal_holds.c.hold_id == hold_id, legal_holds.c.released_at.is_(None))
            result = conn.execute(sa.update(legal_holds).values(released_at=datetime.now(UTC)).where(*active))
            return result.rowcount == 1

    def active(self, subject_key: str | None = None, store: str | None = None) -> tuple[LegalHold, ...]:
        """Holds not released, those placed on exactly this subject key and (or) store when given."""
        conditions: list[sa.ColumnElement[bool]] = [legal_holds.c.released_at.is_(None)]
        if subject_key is not None:
            conditions.append(legal_holds.c.subject_key == subject_key)
        if store is not None:
            conditions.append(legal_holds.c.store == store)
        return self._select(*conditions)

    def for_subject(self, subject_key: str) -> tuple[LegalHold, ...]:
        """Active holds on the subject and on whole stores: what an erasure of this subject must respect."""
        applies = sa.or_(legal_holds.c.subject_key == subject_key, legal_holds.c.subject_key.is_(None))
        return self._select(legal_holds.c.released_at.is_(None), applies)

    def _select(self, *conditions: sa.ColumnElement[bool]) -> tuple[LegalHold, ...]:
        statement = sa.select(legal_holds).where(*conditions).order_by(legal_holds.c.placed_at, legal_holds.c.hold_id)
        with self.engine.connect() as conn:
            return tuple(LegalHold(row.reason, row.subject_key, row.store, row.hold_id, row.placed_at, row.placed_by)
                         for row in conn.execute(statement))  # fmt: skip
