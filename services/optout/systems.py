"""Adapter for the systems of record: sets the do-not-sell/share and limit flag columns for a consumer."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from services.common.db import make_engine
from services.optout.rules import ConsentState
from services.optout.settings import SystemOfRecord


class SystemsOfRecord:
    def __init__(self, systems: list[SystemOfRecord]) -> None:
        self.systems = [(system, make_engine(system.url)) for system in systems]

    def set_flags(self, identifiers: Mapping[str, str], state: ConsentState) -> list[str]:
        """Idempotent: writes the current state (not a delta) wherever one of the identifiers matches."""
        return [system.name for system, engine in self.systems if self._update(system, engine, identifiers, state)]

    def _update(self, system: SystemOfRecord, engine: sa.Engine, identifiers: Mapping[str, str],
                state: ConsentState) -> bool:  # fmt: skip
        matches = [_match(system, kind, value) for kind, value in identifiers.items() if kind in system.match]
        if not matches:
            return False
        values = {
            system.flags[name]: value
            for name, value in (("sale_opt_out", state.sale_opt_out), ("share_opt_out", state.share_opt_out),
                                ("limit_sensitive", ",".join(sorted(state.limit_sensitive))))
            if name in system.flags
        }  # fmt: skip
        statement = sa.update(sa.table(system.table, *(sa.column(c) for c in values))).where(sa.or_(*matches))
        with engine.begin() as conn:
            return conn.execute(statement.values(values)).rowcount > 0

    def dispose(self) -> None:
        for _system, engine in self.systems:
            engine.dispose()


def _match(system: SystemOfRecord, kind: str, value: str) -> sa.ColumnElement[bool]:
    column: sa.ColumnClause[str] = sa.column(system.match[kind])
    if kind == "email":
        return sa.func.lower(sa.func.trim(column)) == value
    return column == value
