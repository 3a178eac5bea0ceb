"""Opens the connector for a data-map store by its kind; nothing connects until the first search."""

from __future__ import annotations

import os
from collections.abc import Mapping

from services.common.datamap.model import DataMap, Store
from services.common.stores.base import StoreConfigError, StoreConnector
from services.common.stores.http import HttpProviderConnector
from services.common.stores.jsonl import JsonLinesConnector
from services.common.stores.opensearch_store import OpenSearchConnector
from services.common.stores.redis_store import RedisConnector
from services.common.stores.sql import SqlConnector


def open_connector(datamap: DataMap, store: Store, env: Mapping[str, str] = os.environ) -> StoreConnector:
    """The connector for `store`; StoreConfigError when the store cannot be opened as described."""
    if store.kind == "sql":
        return SqlConnector(datamap, store)
    if store.kind == "redis":
        return RedisConnector(datamap, store)
    if store.kind == "jsonl":
        return JsonLinesConnector(datamap, store)
    if store.kind == "http":
        return HttpProviderConnector(datamap, store, env)
    if store.kind == "opensearch":
        return OpenSearchConnector(datamap, store)
    expected = "sql, redis, jsonl, http or opensearch"
    raise StoreConfigError(store.name, f"unknown store kind {store.kind!r}; expected {expected}")
