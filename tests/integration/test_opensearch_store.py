"""The opensearch store against a real OpenSearch 2.19 node started by devtools/localstack/opensearch.py: search
by each identifying field (mixed case, with and without a normaliser), erase by id and re-search, correct, a
second subject untouched, the server down, and a walk from a SQL store into the engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from opensearchpy import OpenSearch

from devtools.localstack.opensearch import OpenSearchServer
from devtools.localstack.ports import free_port
from services.common.datamap import DataMap, parse_datamap
from services.common.stores import StoreUnavailable, open_connector, walk
from services.common.stores.opensearch_store import OpenSearchConnector

pytestmark = pytest.mark.integration

ANN, BOB = "Ann.Lee@Example.COM", "bob@example.com"
FOLDED = {"analysis": {"normalizer": {"folded": {"type": "custom", "filter": ["lowercase"]}}}}
EVENT_FIELDS = {
    "email": {"type": "keyword", "normalizer": "folded"},
    "account_id": {"type": "keyword"},
    "ts": {"type": "date"},
    "ip": {"type": "keyword"},
    "user": {"properties": {"name": {"type": "text"}}},
}
NORMALISED = {"settings": FOLDED, "mappings": {"properties": EVENT_FIELDS}}


def datamap_yaml(url: str, prefix: str, sql_url: str = "") -> str:
    sql = f"""
  - name: app
    kind: sql
    url: {sql_url}
    collections:
      - name: users
        primary_key: [id]
        fields:
          - {{name: id, identifies: account_id}}
          - {{name: email, identifies: email, category: A}}
""" if sql_url else ""  # fmt: skip
    return f"""
business: Acme
stores:{sql}
  - name: search
    kind: opensearch
    url: {url}
    timeout_seconds: 60  # generous: the node shares two cores with other benches
    collections:
      - name: events
        path: "{prefix}-events"
        timestamp_field: ts
        fields:
          - {{name: email, identifies: email, category: A}}
          - {{name: account_id, identifies: account_id, category: A}}
          - {{name: ip, category: F}}
          - {{name: user.name, category: A}}
          - {{name: ts}}
      - name: access
        path: "{prefix}-access-*"
        fields:
          - {{name: email, identifies: email, category: A}}
          - {{name: path, category: F}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSearchServer]:
    node = OpenSearchServer(tmp_path_factory.mktemp("opensearch"))
    node.start(timeout=300)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def prefix(server: OpenSearchServer) -> Iterator[str]:
    """Fresh indices per test: one with a lowercase normaliser, two of a pattern with dynamic mappings."""
    name = f"t{uuid.uuid4().hex[:8]}"
    client = OpenSearch(hosts=[server.url], timeout=60)
    client.indices.create(index=f"{name}-events", body=NORMALISED)
    for day in ("2026.12.01", "2026.12.02"):
        client.indices.create(index=f"{name}-access-{day}")  # dynamic: email is text + email.keyword
    docs = [
        (f"{name}-events", {"email": ANN, "account_id": "a-1", "ip": "10.0.0.1", "user": {"name": "Ann"},
                            "ts": "2026-12-01T10:00:00Z"}),
        (f"{name}-events", {"account_id": "a-1", "ip": "10.0.0.2", "ts": "2026-12-01T11:00:00Z"}),
        (f"{name}-events", {"email": BOB, "account_id": "b-2", "ip": "10.0.0.3", "ts": "2026-12-01T12:00:00Z"}),
        (f"{name}-access-2026.12.01", {"email": ANN, "path": "/cart"}),
        (f"{name}-access-2026.12.02", {"email": ANN.upper(), "path": "/pay"}),
        (f"{name}-access-2026.12.02", {"email": BOB, "path": "/home"}),
    ]  # fmt: skip
    for index, doc in docs:
        client.index(index=index, body=doc)
    client.indices.refresh(index=f"{name}-*")
    yield name
    client.indices.delete(index=f"{name}-*")
    client.close()


def connector(datamap: DataMap) -> OpenSearchConnector:
    found = open_connector(datamap, datamap.stores[-1])
    assert isinstance(found, OpenSearchConnector)
    return found


def test_search_by_email_matches_any_case_with_and_without_a_normaliser(server: OpenSearchServer, prefix: str) -> None:
    store = connector(parse_datamap(datamap_yaml(server.url, prefix)))
    records = store.search({"email": frozenset({"ann.lee@example.com"})})
    by_collection = sorted((r.collection, r.values.get("ip") or r.values.get("path")) for r in records)
    assert by_collection == [("access", "/cart"), ("access", "/pay"), ("events", "10.0.0.1")]
    event = next(r for r in records if r.collection == "events")
    assert event.values["user.name"] == "Ann" and event.occurred_at is not None
    assert all("ann" not in r.locator.lower() and r.locator.startswith(f"{prefix}-") for r in records)


def test_more_values_than_the_engine_takes_in_one_query(server: OpenSearchServer, prefix: str) -> None:
    store = connector(parse_datamap(datamap_yaml(server.url, prefix)))
    emails = frozenset({"ann.lee@example.com", *(f"nobody{n}@example.com" for n in range(1100))})
    records = store.search({"email": emails})  # 1101 case-insensitive terms: past max_clause_count (1024) at once
    assert sorted(r.collection for r in records) == ["access", "access", "events"]


def test_search_by_account_id(server: OpenSearchServer, prefix: str) -> None:
    store = connector(parse_datamap(datamap_yaml(server.url, prefix)))
    records = store.search({"account_id": frozenset({"a-1"})})
    assert sorted(r.values["ip"] for r in records) == ["10.0.0.1", "10.0.0.2"]
    assert store.search({"account_id": frozenset({"A-1"})}) == []  # only emails are case-folded


def test_more_matches_than_a_page_are_read_with_a_scroll(
    server: OpenSearchServer, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("services.common.stores.opensearch_store.PAGE", 1)
    store = connector(parse_datamap(datamap_yaml(server.url, prefix)))
    records = store.search({"account_id": frozenset({"a-1"})})
    assert sorted(r.values["ip"] for r in records) == ["10.0.0.1", "10.0.0.2"]


def test_erase_removes_the_subject_and_leaves_another(server: OpenSearchServer, prefix: str) -> None:
    store = connector(parse_datamap(datamap_yaml(server.url, prefix)))
    subject = {"email": frozenset({"ann.lee@example.com"}), "account_id": frozenset({"a-1"})}
    assert store.erase(subject) == 4
    assert store.search(subject) == []  # refreshed: the verification's re-search sees it at once
    other = store.search({"email": frozenset({BOB})})
    assert sorted(r.collection for r in other) == ["access", "events"]


def test_correct_updates_the_matching_documents(server: OpenSearchServer, prefix: str) -> None:
    store = connector(parse_datamap(datamap_yaml(server.url, prefix)))
    subject = {"account_id": frozenset({"a-1"})}
    assert store.correct(subject, "events", {"user.name": "Ann Lee-Smith"}) == 2
    names = {r.values.get("user.name") for r in store.search(subject)}
    assert names == {"Ann Lee-Smith"}
    bob = store.search({"account_id": frozenset({"b-2"})})
    assert [r.values.get("user.name") for r in bob] == [None]


def test_server_down_is_unavailable_with_a_safe_reason(tmp_path: Path) -> None:
    store = connector(parse_datamap(datamap_yaml(f"http://127.0.0.1:{free_port()}", "gone")))
    with pytest.raises(StoreUnavailable) as raised:
        store.search({"email": frozenset({"ann.lee@example.com"})})
    assert raised.value.store == "search"
    assert "ann" not in str(raised.value).lower() and "connection failed" in raised.value.reason


def test_walk_goes_from_sql_into_the_engine(server: OpenSearchServer, prefix: str, tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/app.db")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT)"))
        conn.execute(sa.text("INSERT INTO users VALUES ('a-1', 'ann.lee@example.com'), ('b-2', :bob)"), {"bob": BOB})
    engine.dispose()
    datamap = parse_datamap(datamap_yaml(server.url, prefix, f"sqlite:///{tmp_path}/app.db"))
    connectors = {store.name: open_connector(datamap, store) for store in datamap.stores}
    try:
        result = walk(datamap, connectors, {"email": frozenset({"ann.lee@example.com"})})
    finally:
        for item in connectors.values():
            item.close()
    assert result.complete
    assert [r.values["id"] for r in result.records["app"]] == ["a-1"]
    ips = sorted(r.values["ip"] for r in result.records["search"] if r.collection == "events")
    assert ips == ["10.0.0.1", "10.0.0.2"]  # the second event has no email: reached through account_id
    assert result.identifiers["account_id"] == frozenset({"a-1"})


def test_cli_starts_reports_and_stops_the_node(tmp_path: Path) -> None:
    from devtools.localstack.__main__ import main

    state = tmp_path / "os"
    assert main(["opensearch", "up", "--dir", str(state), "--timeout", "120"]) == 0
    try:
        node = OpenSearchServer(state)
        assert node.is_running() and OpenSearch(hosts=[node.url]).cluster.health()["status"] in ("green", "yellow")
        assert main(["opensearch", "status", "--dir", str(state)]) == 0
    finally:
        assert main(["opensearch", "down", "--dir", str(state)]) == 0
    assert main(["opensearch", "status", "--dir", str(state)]) == 1
    assert (state / "data").is_dir() and not OpenSearchServer(state).is_running()
