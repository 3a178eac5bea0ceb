"""The walk over store connectors (fakes): references followed to a fixpoint, duplicates, failing, hanging and
broken stores, the round limit."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from services.common.datamap import DataMap, Store
from services.common.stores import FoundRecord, StoreUnavailable, walk
from services.common.stores.values import (
    normalise_identifier,
    search_fields,
    searched_collections,
)
from tests.unit.test_store_connectors import APP, CACHE, DATAMAP, LOGS, MAILER


class FakeConnector:
    """Rows per collection in memory; matches like a real connector would."""

    def __init__(self, store: Store, rows: dict[str, list[dict[str, Any]]], datamap: DataMap = DATAMAP) -> None:
        self.store = store
        self.rows = rows
        self.datamap = datamap
        self.questions: list[dict[str, frozenset[str]]] = []

    def search(self, identifiers: Mapping[str, frozenset[str]]) -> list[FoundRecord]:
        self.questions.append(dict(identifiers))
        found = []
        for collection in searched_collections(self.store):
            for number, row in enumerate(self.rows.get(collection.name, [])):
                for target in search_fields(self.datamap, self.store, collection, identifiers):
                    if normalise_identifier(target.kind, row.get(target.field.name)) in target.values:
                        found.append(FoundRecord(self.store.name, collection.name, f"{collection.name}:{number}", row))
        return found

    def close(self) -> None:
        pass


class DownConnector(FakeConnector):
    def search(self, identifiers: Mapping[str, frozenset[str]]) -> list[FoundRecord]:
        super().search(identifiers)
        raise StoreUnavailable(self.store.name, "connection refused for Ann@example.com")


class HangingConnector(FakeConnector):
    def __init__(self, store: Store) -> None:
        super().__init__(store, {})
        self.release = threading.Event()

    def search(self, identifiers: Mapping[str, frozenset[str]]) -> list[FoundRecord]:
        self.release.wait(5)
        return []


class BrokenConnector(FakeConnector):
    def search(self, identifiers: Mapping[str, frozenset[str]]) -> list[FoundRecord]:
        raise KeyError("a@example.com")


APP_ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [{"id": 17, "email": "Ann@Example.com", "name": "Ann"}, {"id": 18, "email": "bob@example.com"}],
    "orders": [{"id": 5, "user_id": 17, "total": 10}, {"id": 6, "user_id": 18}, {"id": 7, "user_id": 17}],
    "order_items": [{"order_id": 5, "line": 1, "sku": "A"}, {"order_id": 7, "line": 1, "sku": "B"}],
    "archive": [{"email": "ann@example.com"}],
}
CACHE_ROWS: dict[str, list[dict[str, Any]]] = {"sessions": [{"account_id": 17, "ip": "10.0.0.1", "device": "dev-9"}]}


class KeyedFake(FakeConnector):
    """Redis-like: a session row is found by the account id its key holds."""

    def search(self, identifiers: Mapping[str, frozenset[str]]) -> list[FoundRecord]:
        self.questions.append(dict(identifiers))
        wanted = identifiers.get("account_id", frozenset())
        return [FoundRecord("cache", "sessions", "session:{account_id}#x", {"ip": row["ip"], "device": row["device"]})
                for row in self.rows["sessions"] if str(row["account_id"]) in wanted]  # fmt: skip


def test_walk_follows_the_chain_to_a_fixpoint() -> None:
    app, cache = FakeConnector(APP, APP_ROWS), KeyedFake(CACHE, CACHE_ROWS)
    result = walk(DATAMAP, {"app": app, "cache": cache}, {"email": frozenset({"ANN@example.com"})})
    assert result.complete and not result.exhausted
    assert sorted(r.locator for r in result.records["app"]) == [
        "order_items:0", "order_items:1", "orders:0", "orders:2", "users:0"]  # fmt: skip
    assert len(result.records["cache"]) == 1
    assert result.identifiers == {"email": {"ann@example.com"}, "account_id": {"17"}, "order_id": {"5", "7"},
                                  "device_id": {"dev-9"}}  # fmt: skip
    # Each store is asked only for values it has not been asked before.
    assert app.questions == [{"email": {"ann@example.com"}}, {"account_id": {"17"}}, {"order_id": {"5", "7"}}]
    # The cache's cart:{account_id}:{device_id} pattern needs old values with new ones: it gets full sets.
    assert cache.questions == [{"account_id": {"17"}}, {"account_id": {"17"}, "device_id": {"dev-9"}}]


def test_walk_with_no_match_anywhere() -> None:
    result = walk(DATAMAP, {"app": FakeConnector(APP, APP_ROWS)}, {"email": frozenset({"nobody@example.com"})})
    assert result.records == {"app": []} and result.complete and result.rounds == 1


def test_walk_deduplicates_records_found_twice() -> None:
    rows = {"users": [{"id": 17, "email": "ann@example.com"}]}
    result = walk(DATAMAP, {"app": FakeConnector(APP, rows)}, {"email": frozenset({"ann@example.com"}),
                                                              "account_id": frozenset({"17"})})  # fmt: skip
    assert len(result.records["app"]) == 1


def test_failing_store_is_reported_and_the_others_go_on() -> None:
    hanging = HangingConnector(LOGS)
    connectors = {"app": FakeConnector(APP, APP_ROWS), "cache": DownConnector(CACHE, CACHE_ROWS), "logs": hanging,
                  "mailer": BrokenConnector(MAILER, {})}  # fmt: skip
    try:
        result = walk(DATAMAP, connectors, {"email": frozenset({"ann@example.com"})})
    finally:
        hanging.release.set()
    assert len(result.records["app"]) == 5
    assert result.failures == {"cache": "connection refused for [identifier]", "logs": "timed out after 0.5s",
                               "mailer": "unexpected error (KeyError)"}  # fmt: skip
    assert not result.complete
    # The down store was asked once and never again.
    assert len(connectors["cache"].questions) == 1


def test_walk_stops_after_max_rounds() -> None:
    result = walk(DATAMAP, {"app": FakeConnector(APP, APP_ROWS)}, {"email": frozenset({"ann@example.com"})},
                  max_rounds=1)  # fmt: skip
    assert result.rounds == 1 and result.exhausted
    assert [r.collection for r in result.records["app"]] == ["users"]
