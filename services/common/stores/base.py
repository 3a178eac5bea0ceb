"""What every store adapter offers the walk (discovery's, and deletion's verification): search by identifier
values, close. The other operations (erase, correct, flag, sample) are each kind's own.

Identifiers are grouped by kind (email, account_id, order_id…) as normalised strings; connectors convert them to
the column's type where needed and never build query text from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from services.common.datamap.model import Store

Identifiers = Mapping[str, frozenset[str]]


class StoreUnavailable(Exception):
    """The store did not answer (down, timeout, refused credentials); the search must be retried later."""

    def __init__(self, store: str, reason: str) -> None:
        self.store = store
        self.reason = reason
        super().__init__(f"store {store} unavailable: {reason}")


class StoreConfigError(ValueError):
    """A store cannot be opened as the data map describes it (unknown kind, a missing token variable)."""

    def __init__(self, store: str, problem: str) -> None:
        self.store = store
        self.problem = problem
        super().__init__(f"store {store}: {problem}")


@dataclass(frozen=True)
class FoundRecord:
    """One record about the subject: a row, a redis key, a log line or a provider record."""

    store: str
    collection: str
    locator: str  # row primary key, redis key, file:line or provider record id; carries no identifier value
    values: Mapping[str, Any]  # data-map field name → value, only fields the data map describes
    occurred_at: datetime | None = None  # from the collection's timestamp_field, UTC


@dataclass(frozen=True)
class SearchResult:
    records: tuple[FoundRecord, ...]
    identifiers: Mapping[str, frozenset[str]] = field(default_factory=dict)  # kinds → values seen in the records


class StoreConnector(Protocol):
    store: Store

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        """Every record of every collection that matches one of the identifier values of a kind it can search."""
        ...

    def close(self) -> None: ...
