"""The OpenSearch store adapter: the index lives in the engine. A collection is an index or an index pattern
(`path`, else the collection's name); its fields are document fields (dotted for objects). Search reads each
concrete index's mapping and asks one filter query per index: `terms` on the keyword form of every identifying field
with known values (case-insensitive emails: opensearch_query.py). Erase deletes the matching documents by id in bulk
and refreshes, so a re-search (the verification) sees the result at once; correct updates fields of the matching
documents the same way. The engine has no _delete_by_query without its reindex module, hence delete by id.

No identifier value is logged or put in a reason: a locator is the index and a short hash of the document id, and
a server error is reported by its HTTP status and error type only (OpenSearch's own reason may quote the query).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import opensearchpy
from opensearchpy import OpenSearch, helpers

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores.base import FoundRecord, Identifiers, StoreConfigError, StoreUnavailable
from services.common.stores.opensearch_query import (
    MappingProblem,
    clauses,
    field_mapping,
    flattened,
    match_field,
    queries,
)
from services.common.stores.values import occurred_at, record_values, search_fields, searched_collections, short_hash

log = logging.getLogger(__name__)
SCROLL = "1m"
PAGE = 1000


@dataclass(frozen=True)
class Hit:
    """A matching document: where it is (for erase and correct) and the record the walk sees."""

    index: str
    doc_id: str
    record: FoundRecord


@contextlib.contextmanager
def unavailable_on_failure(store: str) -> Iterator[None]:
    try:
        yield
    except opensearchpy.ConnectionTimeout:
        raise StoreUnavailable(store, "timed out") from None
    except opensearchpy.ConnectionError as exc:
        raise StoreUnavailable(store, f"connection failed ({type(exc.info).__name__})") from None
    except opensearchpy.TransportError as exc:
        raise StoreUnavailable(store, f"opensearch error {exc.status_code} ({_error_type(exc)})") from None
    except helpers.BulkIndexError as exc:
        raise StoreUnavailable(store, f"bulk request: {len(exc.errors)} documents failed") from None


def opensearch_client(store: Store) -> OpenSearch:
    """The store's client with its timeout; nothing connects until the first request."""
    if not store.url:
        raise StoreConfigError(store.name, "an opensearch store needs `url`, e.g. http://127.0.0.1:9200")
    return OpenSearch(hosts=[store.url], timeout=store.timeout_seconds, max_retries=1, retry_on_timeout=False)


class OpenSearchConnector:
    def __init__(self, datamap: DataMap, store: Store) -> None:
        self.datamap = datamap
        self.store = store
        self.client = opensearch_client(store)

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        return [hit.record for hit in self.hits(identifiers)]

    def hits(self, identifiers: Identifiers) -> list[Hit]:
        """Every document of every searched collection matching a known identifier value."""
        with unavailable_on_failure(self.store.name):
            return [hit for collection in searched_collections(self.store)
                    for hit in self._collection_hits(collection, identifiers)]  # fmt: skip

    def erase(self, identifiers: Identifiers) -> int:
        """Delete every matching document (by id, refreshed before returning); the number deleted."""
        found = self.hits(identifiers)
        actions = [{"_op_type": "delete", "_index": hit.index, "_id": hit.doc_id} for hit in found]
        return self._bulk(actions)

    def correct(self, identifiers: Identifiers, collection: str, changes: Mapping[str, Any]) -> int:
        """Set `changes` (data-map field → new value) on the matching documents of `collection`; the number."""
        target = self.store.collection(collection)
        if target is None or any(target.field(name) is None for name in changes):
            raise StoreConfigError(self.store.name, f"collection {collection} has no such field to correct")
        found = [hit for hit in self.hits(identifiers) if hit.record.collection == collection]
        doc = _nested(dict(changes))
        return self._bulk([{"_op_type": "update", "_index": hit.index, "_id": hit.doc_id, "doc": doc}
                           for hit in found])  # fmt: skip

    def close(self) -> None:
        self.client.close()

    def _bulk(self, actions: list[dict[str, Any]]) -> int:
        if not actions:
            return 0
        with unavailable_on_failure(self.store.name):
            done, _errors = helpers.bulk(self.client, actions, refresh=True, chunk_size=PAGE)
        return int(done)

    def _collection_hits(self, collection: Collection, identifiers: Identifiers) -> Iterator[Hit]:
        fields = search_fields(self.datamap, self.store, collection, identifiers)
        if not fields:
            return
        pattern = collection.path or collection.name
        mappings = self.client.indices.get_mapping(index=pattern, ignore_unavailable=True, allow_no_indices=True)
        for index, body in sorted(mappings.items()):
            shoulds: list[dict[str, Any]] = []
            for field in fields:
                try:
                    match = match_field(body.get("mappings", {}), field.field.name)
                except MappingProblem as problem:
                    if field_is_mapped(body, field.field.name):
                        raise StoreConfigError(self.store.name, f"index {index}: {problem}") from None
                    continue  # an index of the pattern without the field holds no such value
                shoulds.extend(clauses(match, field.kind, field.values))
            if shoulds:
                yield from self._scan(collection, index, shoulds)

    def _scan(self, collection: Collection, index: str, shoulds: list[dict[str, Any]]) -> Iterator[Hit]:
        seen: set[str] = set()  # a document matching clauses of two queries is reported once
        for query in queries(shoulds):
            yield from self._scan_query(collection, index, query, seen)

    def _scan_query(self, collection: Collection, index: str, query: dict[str, Any], seen: set[str]) -> Iterator[Hit]:
        for doc in self._documents(index, query):
            if str(doc["_id"]) in seen:
                continue
            seen.add(str(doc["_id"]))
            source = flattened(doc.get("_source") or {})
            record = FoundRecord(self.store.name, collection.name, f"{index}/{short_hash(str(doc['_id']))}",
                                 record_values(collection, source), occurred_at(collection, source))  # fmt: skip
            yield Hit(index, str(doc["_id"]), record)

    def _documents(self, index: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The matching documents: one plain search when they fit a page (a subject's usual case), else a scroll."""
        first = self.client.search(index=index, body={"query": query, "size": PAGE, "track_total_hits": True})
        hits = first["hits"]["hits"]
        if first["hits"]["total"]["value"] <= len(hits):
            yield from hits
            return
        body = {"query": query}
        yield from helpers.scan(self.client, query=body, index=index, scroll=SCROLL, size=PAGE, clear_scroll=True)


def field_is_mapped(index_body: Mapping[str, Any], name: str) -> bool:
    return field_mapping(index_body.get("mappings", {}), name) is not None


def _nested(changes: dict[str, Any]) -> dict[str, Any]:
    """Dotted field names as the nested objects a partial update expects."""
    doc: dict[str, Any] = {}
    for name, value in changes.items():
        *parents, leaf = name.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc


def _error_type(exc: opensearchpy.TransportError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error")
    return str(error.get("type", "unknown")) if isinstance(error, dict) else "unknown"
