"""The systems of record the data map names (`opt_out_flags`): their do-not-sell/share and limit flag columns are
kept current for a consumer, through each store's SQL adapter. This module decides the values; the adapter writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.common.datamap import Collection, DataMap, Store
from services.common.stores.sql import SqlConnector
from services.common.stores.values import identifier_values
from services.optout.rules import ConsentState


class SystemsOfRecord:
    def __init__(self, datamap: DataMap) -> None:
        self.stores: dict[str, SqlConnector] = {}
        self.systems: list[tuple[Store, Collection]] = datamap.systems_of_record()
        for store, _collection in self.systems:
            if store.name not in self.stores:
                self.stores[store.name] = SqlConnector(datamap, store, read_only=False)

    def set_flags(self, identifiers: Mapping[str, str], state: ConsentState) -> list[str]:
        """Idempotent: writes the current state (not a delta) wherever one of the identifiers matches; returns the
        names of the stores where some row of the consumer was found."""
        known = {kind: frozenset(identifier_values(kind, value)) for kind, value in identifiers.items()}
        updated: list[str] = []
        for store, collection in self.systems:
            flags = flag_values(collection, state)
            if self.stores[store.name].flag(collection, known, flags) and store.name not in updated:
                updated.append(store.name)
        return updated

    def dispose(self) -> None:
        for store in self.stores.values():
            store.close()


def flag_values(collection: Collection, state: ConsentState) -> dict[str, Any]:
    """Column → value of the flags the collection keeps, for the consumer's current state."""
    assert collection.opt_out_flags is not None, "a system of record has opt_out_flags"
    values = {"sale_opt_out": state.sale_opt_out, "share_opt_out": state.share_opt_out,
              "limit_sensitive": ",".join(sorted(state.limit_sensitive))}  # fmt: skip
    return {column: values[flag] for flag, column in collection.opt_out_flags.columns().items()}
