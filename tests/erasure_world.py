"""The erasure tests' world: three subjects in a SQL database with foreign keys, a Redis cache and rotated,
gzipped log files; how to build it, read its state and erase one subject from it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from services.common.datamap import DataMap, load_datamap
from services.common.stores import open_connector, walk
from services.deletion.erasure import ErasureEngine, ErasureJournal, erasure_keys, plan_erasure
from tests.datamaps import accounts_table, datamap_yaml, sql_store

SECRET = base64.b64encode(b"erasure-test-service-secret-32by").decode()
KEYS = erasure_keys({"CCPA_SUBJECT_KEY_SECRET": SECRET})
REQUEST = "req-ann-1"
EXPECTED = {
    "app": {"customers": {"deleted": 1}, "events": {"deidentified": 3}, "invoices": {"deleted": 1, "retained": 1},
            "order_items": {"deleted": 3}, "orders": {"deleted": 2}},
    "cache": {"profiles": {"deidentified": 1}, "sessions": {"deleted": 1}},
    "logs": {"access": {"deleted": 4}, "audit": {"deidentified": 3}},
}  # fmt: skip


def hmac_of(value: str, length: int | None = None) -> str:
    return hmac.new(KEYS.deidentify, value.encode(), hashlib.sha256).hexdigest()[:length]


def build_world(app_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[DataMap, dict[str, str]]]:
    env = {"APP_DB_URL": app_url, "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/12",
           "KEY_PREFIX": f"erasure-{uuid.uuid4().hex[:8]}", "LOG_DIR": str(tmp_path / "logs")}  # fmt: skip
    (tmp_path / "datamap.yaml").write_text(DATAMAP_YAML)
    datamap = load_datamap(tmp_path / "datamap.yaml", env)
    create_world(datamap, env)
    yield datamap, env
    client = redis.Redis.from_url(env["REDIS_URL"])
    for key in client.scan_iter(match=f"{env['KEY_PREFIX']}:*"):
        client.delete(key)
    client.close()


def identifiers_of(datamap: DataMap, email: str) -> dict[str, frozenset[str]]:
    connectors = {store.name: open_connector(datamap, store) for store in datamap.stores}
    try:
        return walk(datamap, connectors, {"email": frozenset({email})}).identifiers
    finally:
        for connector in connectors.values():
            connector.close()


def state(datamap: DataMap, env: dict[str, str]) -> dict[str, Any]:
    return {"app": sql_state(env["APP_DB_URL"]), "cache": redis_state(env["REDIS_URL"], env["KEY_PREFIX"]),
            "logs": log_lines(Path(env["LOG_DIR"]))}  # fmt: skip


def erase(datamap: DataMap, email: str, journal: ErasureJournal | None = None, **plan: Any) -> dict[str, Any]:
    engine = ErasureEngine(datamap, KEYS.deidentify, journal)
    try:
        outcome = engine.erase(plan_erasure(datamap, identifiers_of(datamap, email), **plan), REQUEST)
    finally:
        engine.close()
    assert outcome.complete, outcome.failures
    return {store.store: store for store in outcome.stores}


# The world: three subjects in a SQL database with foreign keys, a Redis cache and rotated, gzipped log files.

DATAMAP_YAML = datamap_yaml(
    sql_store(
        "${APP_DB_URL}",
        accounts_table("customers", name_category="A")
        + """\
      - name: orders
        primary_key: [id]
        fields: [{name: id, identifies: order_id}, {name: customer_id, references: customers.id}, {name: total}]
      - name: order_items
        fields: [{name: id}, {name: order_id, references: orders.id}, {name: sku, category: D}]
      - name: invoices
        primary_key: [id]
        timestamp_field: issued_at
        deletion: {strategy: retain, exemption: legal_obligation, retain_for: P7Y}
        fields:
          - {name: id}
          - {name: customer_id, references: customers.id, deletion: {strategy: "null"}}
          - {name: issued_at}
          - {name: amount, category: D}
      - name: events
        primary_key: [id]
        fields:
          - {name: id}
          - {name: account_id, references: customers.id, deletion: {strategy: "null"}}
          - {name: device_id, identifies: device_id, category: A, deletion: {strategy: hmac}}
          - {name: page, category: F}
""",
    ),
    """\
  - name: cache
    kind: redis
    url: ${REDIS_URL}
    collections:
      - name: sessions
        key_pattern: "${KEY_PREFIX}:session:{account_id}"
        fields: [{name: ip, category: A}]
      - name: profiles
        key_pattern: "${KEY_PREFIX}:profile:{account_id}"
        fields:
          - {name: email, identifies: email, category: A, deletion: {strategy: "null"}}
          - {name: device, identifies: device_id, category: A, deletion: {strategy: hmac}}
          - {name: plan, category: D}
  - name: logs
    kind: jsonl
    collections:
      - name: access
        path: ${LOG_DIR}/access.log
        fields: [{name: ts}, {name: account_id, references: app.customers.id}, {name: path, category: F}]
      - name: audit
        path: ${LOG_DIR}/audit.log
        fields:
          - {name: ts}
          - {name: email, identifies: email, category: A, deletion: {strategy: "null"}}
          - {name: device, identifies: device_id, category: A, deletion: {strategy: hmac}}
          - {name: action}
""",
)


@dataclass(frozen=True)
class Subject:
    account: str
    email: str
    device: str
    ids: dict[str, set[Any]]

    def marks(self, line: bytes) -> bool:
        markers = (f'"{self.account}"', self.email.lower(), self.device, hmac_of(self.device))
        return any(marker.encode() in line.lower() for marker in markers)


ANN = Subject("a1", "Ann@Example.com", "d-ann", {"customers": {"a1"}, "orders": {101, 102},
              "order_items": {1001, 1002, 1003}, "invoices": {501, 502}, "events": {11, 12, 13}})  # fmt: skip
BOB = Subject("b2", "bob@example.com", "d-bob", {})
CAT = Subject("c3", "cat@example.com", "d-cat", {})
app_tables = sa.MetaData()


def _table(name: str, *columns: sa.Column[Any]) -> None:
    sa.Table(name, app_tables, sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False), *columns)


sa.Table("customers", app_tables, sa.Column("id", sa.String(20), primary_key=True),
         sa.Column("email", sa.String(100)), sa.Column("name", sa.String(100)))  # fmt: skip
_table("orders", sa.Column("customer_id", sa.ForeignKey("customers.id"), nullable=False),
       sa.Column("total", sa.Integer))  # fmt: skip
_table("order_items", sa.Column("order_id", sa.ForeignKey("orders.id"), nullable=False),
       sa.Column("sku", sa.String(20)))  # fmt: skip
_table("invoices", sa.Column("customer_id", sa.ForeignKey("customers.id")),
       sa.Column("issued_at", sa.DateTime(timezone=True)), sa.Column("amount", sa.Integer))  # fmt: skip
_table("events", sa.Column("account_id", sa.ForeignKey("customers.id")),
       sa.Column("device_id", sa.String(36), nullable=False), sa.Column("page", sa.String(100)))  # fmt: skip
ROWS: dict[str, list[dict[str, Any]]] = {
    "customers": [{"id": s.account, "email": s.email, "name": s.account.upper()} for s in (ANN, BOB, CAT)],
    "orders": [{"id": i, "customer_id": c, "total": i * 10} for i, c in ((101, "a1"), (102, "a1"), (201, "b2"))],
    "order_items": [{"id": i, "order_id": o, "sku": f"sku-{i}"}
                    for i, o in ((1001, 101), (1002, 101), (1003, 102), (2001, 201))],
    "invoices": [{"id": i, "customer_id": c, "issued_at": datetime(y, 5, 1, 9, 30, tzinfo=UTC), "amount": 1999}
                 for i, c, y in ((501, "a1", 2024), (502, "a1", 2015), (601, "b2", 2024))],
    "events": [{"id": i, "account_id": a, "device_id": d, "page": f"/p/{i}"} for i, a, d in (
        (11, "a1", "d-ann"), (12, "a1", "d-ann"), (13, None, "d-ann"), (21, "b2", "d-bob"), (31, None, "d-cat"))],
}  # fmt: skip


def access(day: int, account: str | None) -> dict[str, Any]:
    return {"ts": f"2026-11-0{day}T09:00:00Z", "account_id": account, "path": f"/day/{day}"}


def audit(day: int, subject: Subject, action: str = "login") -> dict[str, Any]:
    return {"ts": f"2026-11-0{day}T10:00:00Z", "email": subject.email.lower(), "device": subject.device,
            "action": action}  # fmt: skip


LOGS: dict[str, list[dict[str, Any] | str]] = {
    "access.log": [access(1, "a1"), access(1, "b2"), "not json at all", access(2, "a1"), access(2, None)],
    "access.log.1": [access(3, "a1"), access(3, "c3")],
    "access.log.2.gz": [access(4, "a1"), access(4, "b2")],
    "audit.log": [audit(1, ANN), audit(1, BOB, "view"), audit(2, ANN)],
    "audit.log.1.gz": [audit(3, ANN), audit(3, CAT)],
}


def create_world(datamap: DataMap, env: dict[str, str]) -> None:
    engine = sa.create_engine(env["APP_DB_URL"])
    app_tables.create_all(engine)
    with engine.begin() as conn:
        for table in app_tables.sorted_tables:
            conn.execute(table.insert(), ROWS[table.name])
    engine.dispose()
    client = redis.Redis.from_url(env["REDIS_URL"])
    for subject in (ANN, BOB):
        client.hset(f"{env['KEY_PREFIX']}:session:{subject.account}", mapping={"ip": "10.0.0.1"})
        client.hset(f"{env['KEY_PREFIX']}:profile:{subject.account}",
                    mapping={"email": subject.email, "device": subject.device, "plan": "gold"})  # fmt: skip
        client.expire(f"{env['KEY_PREFIX']}:profile:{subject.account}", 3600)
    client.close()
    log_dir = Path(env["LOG_DIR"])
    log_dir.mkdir()
    for name, entries in LOGS.items():
        text = "".join((json.dumps(e) if isinstance(e, dict) else e) + "\n" for e in entries).encode()
        (log_dir / name).write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
        (log_dir / name).chmod(0o640)


def sql_state(url: str) -> dict[str, dict[Any, dict[str, Any]]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {table.name: {row.id: {k: v for k, v in row._asdict().items() if k != "issued_at"}
                              for row in conn.execute(sa.select(table))}
                 for table in app_tables.sorted_tables}  # fmt: skip
    engine.dispose()
    return found


def redis_state(url: str, prefix: str) -> dict[str, dict[str, Any]]:
    client = redis.Redis.from_url(url, decode_responses=True)
    found = {key.removeprefix(f"{prefix}:"): {**client.hgetall(key), **({"ttl": True} if client.ttl(key) > 0 else {})}
             for key in client.scan_iter(match=f"{prefix}:*")}  # fmt: skip
    client.close()
    return found


def log_lines(log_dir: Path) -> dict[str, list[bytes]]:
    return {path.name: (gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes())
            .splitlines(keepends=True) for path in sorted(log_dir.iterdir())}  # fmt: skip


def without(store: str, snapshot: dict[str, Any], subject: Subject) -> dict[str, Any]:
    """A store's snapshot minus every record of the subject."""
    if store == "app":
        return {table: {k: v for k, v in rows.items() if k not in subject.ids.get(table, set())}
                for table, rows in snapshot.items()}  # fmt: skip
    if store == "cache":
        return {key: value for key, value in snapshot.items() if not key.endswith(f":{subject.account}")}
    return {name: [line for line in lines if not subject.marks(line)] for name, lines in snapshot.items()}
