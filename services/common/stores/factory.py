"""Opens the connector for a data-map store by its kind; nothing connects until the first search.

Each kind's adapter (and its client library: redis, opensearch-py with requests, httpx) is imported when a data
map first names that kind, so a service pays in memory only for the stores it reaches."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from services.common.datamap.model import DataMap, Store
from services.common.stores.base import StoreConfigError, StoreConnector

# kind -> (adapter module, connector class): the one routing table of store kinds.
CONNECTORS = {
    "sql": ("services.common.stores.sql", "SqlConnector"),
    "redis": ("services.common.stores.redis_store", "RedisConnector"),
    "jsonl": ("services.common.stores.jsonl", "JsonLinesConnector"),
    "http": ("services.common.stores.http", "HttpProviderConnector"),
    "opensearch": ("services.common.stores.opensearch_store", "OpenSearchConnector"),
}


def open_connector(datamap: DataMap, store: Store, env: Mapping[str, str] = os.environ) -> StoreConnector:
    """The connector for `store`; StoreConfigError when the store cannot be opened as described."""
    if store.kind not in CONNECTORS:
        expected = ", ".join(sorted(CONNECTORS))
        raise StoreConfigError(store.name, f"unknown store kind {store.kind!r}; expected one of {expected}")
    module, name = CONNECTORS[store.kind]
    connector = getattr(importlib.import_module(module), name)
    if store.kind == "http":
        return connector(datamap, store, env)  # type: ignore[no-any-return]
    return connector(datamap, store)  # type: ignore[no-any-return]
