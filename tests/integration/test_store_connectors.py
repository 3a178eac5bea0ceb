"""Store connectors against real stores: PostgreSQL, MariaDB and SQLite, Redis, log files on disk and an HTTP
provider on a real socket. The walk follows email → users.id → orders.user_id → order_items.order_id and into the
other stores.
"""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Header, HTTPException

from devtools.localstack.ports import free_port, wait_until
from services.common.datamap import DataMap, parse_datamap
from services.common.stores import StoreConnector, StoreUnavailable, open_connector, walk
from tests.datamaps import SHOP_TABLES, sql_store
from tests.support import SQL_BACKENDS, sql_store_url

pytestmark = pytest.mark.integration

TOKEN = "provider-test-token"
DATAMAP_YAML = (
    """
business: Acme
stores:
"""
    + sql_store("${APP_DB_URL}", SHOP_TABLES, timeout_seconds=5)
    + """\
  - name: cache
    kind: redis
    url: ${REDIS_URL}
    timeout_seconds: 5
    collections:
      - name: sessions
        key_pattern: "${KEY_PREFIX}:session:{account_id}"
        timestamp_field: created_at
        fields: [{name: ip, category: F}, {name: created_at}]
      - name: preferences
        key_pattern: "${KEY_PREFIX}:prefs:{account_id}"
        value_type: json
        fields: [{name: newsletter, category: D}, {name: email, identifies: email, category: A}]
  - name: logs
    kind: jsonl
    timeout_seconds: 5
    collections:
      - name: access
        path: ${DEMO_LOG_DIR}/access.log
        timestamp_field: ts
        fields:
          - {name: ts}
          - {name: email, identifies: email, category: A}
          - {name: account_id, references: app.users.id}
          - {name: path, category: F}
  - name: mailer
    kind: http
    url: ${PROVIDER_URL}
    auth: {type: bearer, token_env: MAILER_TOKEN}
    timeout_seconds: 5
    collections:
      - name: contacts
        fields:
          - {name: email, identifies: email, category: A}
          - {name: first_name, category: B}
      - name: deliveries
        timestamp_field: sent_at
        fields:
          - {name: account_ref, references: app.users.id}
          - {name: subject_line, category: F}
          - {name: sent_at}
"""
)

ANN = "ann@example.com"
PROVIDER_RECORDS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("email", ANN): [
        {"collection": "contacts", "locator": "contact-1", "occurred_at": "2024-03-01T10:00:00Z",
         "values": {"email": ANN, "first_name": "Ann", "lead_score": 91}},
        {"collection": "internal_scoring", "locator": "score-1", "values": {"score": 3}},
    ],
    ("account_id", "17"): [
        {"collection": "deliveries", "locator": "delivery-9", "values": {"account_ref": "17",
         "subject_line": "Your order shipped", "sent_at": 1714564800}},
    ],
}  # fmt: skip


def provider_app() -> FastAPI:
    app = FastAPI()

    @app.post("/privacy/v1/access")
    def access(body: dict[str, Any], authorization: str = Header("")) -> dict[str, Any]:
        """Records held about any of the identifiers."""
        if authorization != f"Bearer {TOKEN}":
            raise HTTPException(401)
        asked = body["identifiers"]
        return {"records": [record for kind, values in asked.items() for value in values
                            for record in PROVIDER_RECORDS.get((kind, value), [])]}  # fmt: skip

    return app


@pytest.fixture(scope="module")
def provider_url() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(provider_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-provider", daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, 15), "the test provider did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(params=SQL_BACKENDS)
def app_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = sql_store_url(request, request.param, tmp_path / "app.db")
    seed_app_db(url)
    return url


metadata = sa.MetaData()
users = sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("email", sa.String(200)), sa.Column("name", sa.String(100)))  # fmt: skip
orders = sa.Table("orders", metadata, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("user_id", sa.Integer), sa.Column("placed_at", sa.DateTime),
                  sa.Column("total", sa.Numeric(10, 2)))  # fmt: skip
order_items = sa.Table("order_items", metadata, sa.Column("order_id", sa.Integer, primary_key=True),
                       sa.Column("line", sa.Integer, primary_key=True), sa.Column("sku", sa.String(40)),
                       sa.Column("photo", sa.LargeBinary))  # fmt: skip


def seed_app_db(url: str) -> None:
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(users), [{"id": 17, "email": "Ann@Example.com", "name": "Ann"},
                                        {"id": 18, "email": "bob@example.com", "name": "Bob"}])  # fmt: skip
        conn.execute(sa.insert(orders), [
            {"id": 5, "user_id": 17, "placed_at": datetime(2024, 5, 1, 12, 0), "total": "19.90"},
            {"id": 6, "user_id": 18, "placed_at": datetime(2024, 5, 2), "total": "5.00"},
            {"id": 7, "user_id": 17, "placed_at": datetime(2024, 6, 1), "total": "7.50"},
        ])  # fmt: skip
        conn.execute(sa.insert(order_items), [
            {"order_id": 5, "line": 1, "sku": "TENT-2"}, {"order_id": 5, "line": 2, "sku": "STOVE"},
            {"order_id": 6, "line": 1, "sku": "ROPE"}, {"order_id": 7, "line": 1, "sku": "MAP", "photo": b"\x89PNG"},
        ])  # fmt: skip
    engine.dispose()


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(redis_url)
    client.hset(f"{prefix}:session:17", mapping={"ip": "203.0.113.7", "created_at": "2024-05-01T12:00:00Z",
                                                 "csrf": "not-in-the-data-map"})  # fmt: skip
    client.hset(f"{prefix}:session:18", mapping={"ip": "198.51.100.1"})
    client.set(f"{prefix}:prefs:17", json.dumps({"newsletter": True, "email": "ann.alt@example.com"}))
    yield prefix
    client.delete(*client.keys(f"{prefix}:*"))
    client.close()


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    write_lines(logs / "access.log", [
        {"ts": "2024-05-01T12:00:00Z", "account_id": 17, "path": "/cart", "ip": "203.0.113.7"},
        {"ts": "2024-05-01T12:01:00Z", "account_id": 18, "path": "/"},
        "this line is not JSON",
        {"ts": "2024-05-01T12:02:00Z", "account_id": "17", "path": "/checkout"},
    ])  # fmt: skip
    write_lines(
        logs / "access.log.1",
        [{"ts": 1714500000, "email": "ANN@example.com", "account_id": 17, "path": "/login"}, "[1, 2]"],
    )
    with gzip.open(logs / "access.log.2.gz", "wt") as archive:
        archive.write(json.dumps({"ts": "2024-04-01T08:00:00", "account_id": 17, "path": "/signup"}) + "\n")
        archive.write(json.dumps({"ts": "2024-04-01T08:00:00", "email": "bob@example.com"}) + "\n")
    (logs / "access.log.swp").write_text(json.dumps({"account_id": 17}) + "\n")  # not a rotation
    return logs


def write_lines(path: Path, lines: list[Any]) -> None:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))


def company_datamap(app_db_url: str, redis_url: str, log_dir: Path, provider_url: str, key_prefix: str) -> DataMap:
    env = {"APP_DB_URL": app_db_url, "REDIS_URL": redis_url, "DEMO_LOG_DIR": str(log_dir),
           "PROVIDER_URL": provider_url, "KEY_PREFIX": key_prefix}  # fmt: skip
    return parse_datamap(DATAMAP_YAML, "test-datamap.yaml", env)


@pytest.fixture
def datamap(app_db_url: str, redis_url: str, log_dir: Path, provider_url: str, key_prefix: str) -> DataMap:
    return company_datamap(app_db_url, redis_url, log_dir, provider_url, key_prefix)


def open_all(datamap: DataMap) -> dict[str, StoreConnector]:
    return {store.name: open_connector(datamap, store, {"MAILER_TOKEN": TOKEN}) for store in datamap.stores}


@pytest.fixture
def connectors(datamap: DataMap) -> Iterator[dict[str, StoreConnector]]:
    opened = open_all(datamap)
    yield opened
    for connector in opened.values():
        connector.close()


def by_collection(records: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for record in records:
        grouped.setdefault(record.collection, []).append(record)
    return grouped


def test_a_subject_present_everywhere_is_found_through_the_chain(
    datamap: DataMap, connectors: dict[str, StoreConnector]
) -> None:
    result = walk(datamap, connectors, {"email": frozenset({ANN})})

    assert result.complete and not result.exhausted
    app = by_collection(result.records["app"])
    assert [record.values["name"] for record in app["users"]] == ["Ann"]
    assert sorted(record.values["id"] for record in app["orders"]) == [5, 7]
    assert sorted(record.values["sku"] for record in app["order_items"]) == ["MAP", "STOVE", "TENT-2"]
    first_order = next(record for record in app["orders"] if record.values["id"] == 5)
    assert first_order.occurred_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert first_order.values["total"] == "19.90"
    assert first_order.locator.startswith("orders:id=#") and "5" not in first_order.locator.split("#")[0]
    assert all("photo" not in record.values for record in app["order_items"])

    cache = by_collection(result.records["cache"])
    [session] = cache["sessions"]
    assert session.values == {"ip": "203.0.113.7", "created_at": "2024-05-01T12:00:00Z"}
    assert session.occurred_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    # The locator names the key pattern and a digest, never the key itself (the random test prefix may hold "17").
    pattern, digest = session.locator.split("#")
    assert pattern == datamap.stores[1].collections[0].key_pattern and ":17" not in session.locator
    assert len(digest) >= 16 and all(char in "0123456789abcdef" for char in digest)
    assert [record.values for record in cache["preferences"]] == [{"newsletter": True, "email": "ann.alt@example.com"}]

    logs = result.records["logs"]
    assert sorted(record.locator for record in logs) == ["access.log.1:1", "access.log.2.gz:1", "access.log:1",
                                                         "access.log:4"]  # fmt: skip
    assert all(record.occurred_at is not None and record.occurred_at.tzinfo is UTC for record in logs)
    assert all("ip" not in record.values for record in logs)

    mailer = by_collection(result.records["mailer"])
    assert set(mailer) == {"contacts", "deliveries"}  # the unknown provider collection is dropped
    assert mailer["contacts"][0].values == {"email": ANN, "first_name": "Ann"}  # and its unknown field
    assert mailer["deliveries"][0].occurred_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    assert result.identifiers == {"email": {ANN, "ann.alt@example.com"}, "account_id": {"17"},
                                  "order_id": {"5", "7"}}  # fmt: skip


def test_a_subject_present_nowhere_gives_empty_results(datamap: DataMap, connectors: dict[str, StoreConnector]) -> None:
    result = walk(datamap, connectors, {"email": frozenset({"nobody@example.com"})})
    assert result.complete
    assert result.records == {"app": [], "cache": [], "logs": [], "mailer": []}
    assert result.identifiers == {"email": {"nobody@example.com"}}


INJECTIONS = frozenset({"x' OR '1'='1", "1; DROP TABLE users", "1 OR 1=1", "17) OR (1=1", "*", "session:*"})


def test_identifiers_shaped_like_sql_are_harmless(datamap: DataMap, connectors: dict[str, StoreConnector]) -> None:
    app = connectors["app"]
    assert app.search({"email": INJECTIONS, "account_id": INJECTIONS, "order_id": INJECTIONS}) == []

    result = walk(datamap, connectors, {"email": INJECTIONS, "account_id": INJECTIONS})
    assert result.complete
    assert all(records == [] for records in result.records.values())
    engine = sa.create_engine(datamap.stores[0].url or "")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 2
    engine.dispose()


def test_connectors_only_read(datamap: DataMap, connectors: dict[str, StoreConnector]) -> None:
    app = connectors["app"]
    assert len(app.search({"account_id": frozenset({"17"})})) == 3
    with app.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):  # type: ignore[attr-defined]
        conn.execute(sa.delete(users))


def test_stopped_stores_are_reported_while_the_others_answer(
    redis_url: str, log_dir: Path, provider_url: str, key_prefix: str
) -> None:
    down_pg = f"postgresql+psycopg://discovery:s3cret-pw@127.0.0.1:{free_port()}/app"
    down_redis = f"redis://127.0.0.1:{free_port()}/0"
    datamap = company_datamap(down_pg, down_redis, log_dir, provider_url, key_prefix)
    connectors = open_all(datamap)
    try:
        for name in ("app", "cache"):
            with pytest.raises(StoreUnavailable) as caught:
                connectors[name].search({"email": frozenset({ANN}), "account_id": frozenset({"17"})})
            assert caught.value.store == name

        result = walk(datamap, connectors, {"email": frozenset({ANN})})
    finally:
        for connector in connectors.values():
            connector.close()

    assert set(result.failures) == {"app", "cache"}
    assert "s3cret-pw" not in result.failures["app"] and ANN not in str(result.failures)
    assert "refused" in result.failures["app"].lower() and "refused" in result.failures["cache"].lower()
    # The logs gave account id 17, so the second round still reached the other log lines and the provider.
    assert len(result.records["logs"]) == 4
    assert {record.collection for record in result.records["mailer"]} == {"contacts", "deliveries"}


def test_logs_missing_folder_is_empty_and_a_broken_archive_is_unavailable(tmp_path: Path) -> None:
    datamap = company_datamap("sqlite://", "redis://127.0.0.1:1/0", tmp_path / "absent", "http://127.0.0.1:1", "k")
    logs = open_connector(datamap, datamap.stores[2])
    assert logs.search({"email": frozenset({ANN})}) == []

    broken = company_datamap("sqlite://", "redis://127.0.0.1:1/0", tmp_path, "http://127.0.0.1:1", "k")
    write_lines(tmp_path / "access.log", [{"email": ANN}])
    (tmp_path / "access.log.3.gz").write_bytes(b"not gzip at all")
    with pytest.raises(StoreUnavailable, match=r"cannot read access\.log\.3\.gz"):
        open_connector(broken, broken.stores[2]).search({"email": frozenset({ANN})})


def test_provider_refusing_the_token_is_unavailable(provider_url: str, tmp_path: Path) -> None:
    datamap = company_datamap("sqlite://", "redis://127.0.0.1:1/0", tmp_path, provider_url, "k")
    mailer = open_connector(datamap, datamap.stores[3], {"MAILER_TOKEN": "wrong"})
    with pytest.raises(StoreUnavailable, match="HTTP 401"):
        mailer.search({"email": frozenset({ANN})})
    mailer.close()
