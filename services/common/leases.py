"""Short claim leases on a work table (deletion jobs, discovery runs), renewed by a heartbeat while their work goes
on: a process that dies loses its claims within seconds, one that is working keeps them however long a step takes.
Claiming, renewal, release and the commit of a step under its lease are written here once, for every work table.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import Field

from services.common.db import UtcDateTime
from services.common.events import utcnow

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 15.0
LeaseSeconds = Annotated[float, Field(ge=1.0, le=300.0, description=(
    "How long a claim lasts unless renewed; the holder renews it every third of that while it works, so a "
    "process that dies loses its claims after at most this"
))]  # fmt: skip
RELEASED: dict[str, Any] = {"lease_until": None, "lease_owner": None}


class LeaseLost(Exception):
    """The lease lapsed and another process claimed the row: this process must not commit its step."""


def lease_columns() -> tuple[sa.Column[Any], sa.Column[Any]]:
    """The two columns every leased table carries: until when, and which process holds it."""
    return sa.Column("lease_until", UtcDateTime()), sa.Column("lease_owner", sa.String(80))


def retry_delay(failures: int, initial: float, maximum: float) -> timedelta:
    """The wait before the next attempt after `failures` failed ones: doubling from `initial`, at most `maximum`."""
    return timedelta(seconds=min(maximum, initial * 2**failures))


def process_owner() -> str:
    """An id no other process shares, even after a restart with the same pid."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Leases:
    """One process's leases on one table: claims rows, renews those it holds while their work goes on, and gives
    the condition under which a step may commit (the row is still this process's)."""

    def __init__(self, engine: sa.Engine, table: sa.Table, key: str, seconds: float, owner: str | None = None) -> None:
        self.engine = engine
        self.table = table
        self.key = table.c[key]
        self.seconds = seconds
        self.owner = owner or process_owner()
        self._held: set[Any] = set()
        self._lock = threading.Lock()

    def free(self, now: datetime, table: sa.FromClause | None = None) -> sa.ColumnElement[bool]:
        """Rows nobody holds: never leased, released, or lapsed."""
        until = (self.table if table is None else table).c.lease_until
        return sa.or_(until.is_(None), until < now)

    def due(self, now: datetime, table: sa.FromClause | None = None) -> sa.ColumnElement[bool]:
        """Rows whose next attempt is due and that nobody holds (a lapsed lease is taken over)."""
        rows = self.table if table is None else table
        return sa.and_(rows.c.next_attempt_at <= now, self.free(now, rows))

    def claim_due(self, ready: sa.ColumnElement[bool], order_by: tuple[sa.ColumnElement[Any], ...], limit: int,
                  now: datetime, chosen: sa.ColumnElement[bool] | None = None) -> list[sa.Row[Any]]:  # fmt: skip
        """Lease up to `limit` rows that are `ready`, due and free, in `order_by` order; `chosen` narrows the
        SELECT only (each lease re-checks that its row is still ready, due and free, nothing more)."""
        due = sa.and_(ready, self.due(now))
        where = due if chosen is None else sa.and_(due, chosen)
        return self.claim(sa.select(self.table).where(where).order_by(*order_by).limit(limit), due, now)

    def claim(self, candidates: sa.Select[Any], due: sa.ColumnElement[bool], now: datetime) -> list[sa.Row[Any]]:
        """Lease each candidate row that is still `due` (another replica may have taken it since the SELECT)."""
        values = {"lease_until": now + timedelta(seconds=self.seconds), "lease_owner": self.owner}
        claimed = []
        # SKIP LOCKED: replicas claiming at once take different rows instead of queueing on each other's (PostgreSQL);
        # SQLite ignores it (one writer).
        with self.engine.begin() as conn:
            for row in conn.execute(candidates.with_for_update(skip_locked=True)).all():
                key = row._mapping[self.key]
                taken = conn.execute(sa.update(self.table).where(self.key == key, due).values(values))
                if taken.rowcount == 1:
                    claimed.append(row)
        self.hold(*(row._mapping[self.key] for row in claimed))
        return claimed

    def owned(self, key: Any) -> sa.ColumnElement[bool]:
        """Where-clause of a step's commit: the row is still leased to this process."""
        return sa.and_(self.key == key, self.table.c.lease_owner == self.owner)

    def settle(self, conn: sa.Connection, key: Any, values: Mapping[str, Any], *where: sa.ColumnElement[bool]) -> None:
        """Commit a step's outcome on its row and release the lease, only while this process still holds it:
        LeaseLost otherwise, which rolls back the step's transaction (the process that took the row over does the
        step again)."""
        statement = sa.update(self.table).where(self.owned(key), *where).values({**values, **RELEASED})
        if conn.execute(statement).rowcount != 1:
            raise LeaseLost(f"the lease on a {self.table.name} row lapsed and another process claimed it")

    def hold(self, *keys: Any) -> None:
        with self._lock:
            self._held.update(keys)

    def release(self, *keys: Any) -> None:
        """Stop renewing: the step finished or failed (its commit cleared the lease, or the lease lapses)."""
        with self._lock:
            self._held.difference_update(keys)

    def held(self) -> frozenset[Any]:
        with self._lock:
            return frozenset(self._held)

    def renew(self) -> int:
        """One heartbeat: extend the held leases still this process's (never one another process took)."""
        held = sorted(self.held())
        if not held:
            return 0
        until = utcnow() + timedelta(seconds=self.seconds)
        ours = sa.and_(self.key.in_(held), self.table.c.lease_owner == self.owner)
        with self.engine.begin() as conn:
            renewed = conn.execute(sa.update(self.table).where(ours).values(lease_until=until))
        return int(renewed.rowcount)

    @contextmanager
    def heartbeat(self) -> Iterator[None]:
        """Renew the held leases every third of a lease in a thread of their own, for as long as the block runs."""
        stop = threading.Event()
        thread = threading.Thread(target=self._beat, args=(stop,), name=f"{self.table.name}-leases", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(self.seconds / 3):
            try:
                self.renew()
            except Exception:
                # The database is unreachable: the leases may lapse, and a step whose lease was taken over
                # cannot commit (`owned`), so the worst case is work repeated by the new owner.
                log.warning("could not renew leases; retrying", extra={"table": self.table.name}, exc_info=True)
