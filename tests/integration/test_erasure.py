"""The erasure engine against real stores: PostgreSQL and MariaDB (with FOREIGN KEY constraints) and SQLite, Redis,
and log files (rotated and gzipped). One subject is erased; the others are untouched; retention, holds, replay, the
suppression ledger and the reapply after a pg_dump backup is restored.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from devtools.demo.generator import DemoTarget, generate_company, load_demo_datamap
from devtools.demo.subjects import iter_subjects
from devtools.localstack import DatabaseServer
from services.common.datamap import EXEMPTIONS, DataMap, load_datamap, parse_datamap
from services.common.db import make_engine
from services.common.stores import WalkResult, open_connector, walk
from services.deletion.cli import backups_reapply
from services.deletion.erasure import (
    ErasureEngine,
    ErasureJournal,
    Exemption,
    Ledger,
    LegalHolds,
    create_erasure_tables,
    erasure_keys,
    plan_erasure,
    reapply,
    should_suppress,
)
from tests.datamaps import accounts_table, datamap_yaml, sql_store
from tests.support import SQL_BACKENDS, sql_store_url

pytestmark = pytest.mark.integration
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


@pytest.fixture(params=SQL_BACKENDS)
def app_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sql_store_url(request, request.param, tmp_path / "a.db")


@pytest.fixture
def service_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """The deletion service's own database: journal, ledger, holds."""
    engine = make_engine(f"sqlite:///{tmp_path}/deletion.db")
    create_erasure_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def world(app_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[DataMap, dict[str, str]]]:
    yield from build_world(app_url, redis_url, tmp_path)


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


def test_a_subject_is_erased_everywhere_and_others_are_untouched(world: tuple[DataMap, dict[str, str]],
                                                                service_engine: sa.Engine) -> None:  # fmt: skip
    datamap, env = world
    before = state(datamap, env)
    if env["APP_DB_URL"].startswith("postgresql"):
        with pytest.raises(sa.exc.IntegrityError), sa.create_engine(env["APP_DB_URL"]).begin() as conn:
            conn.execute(sa.text("DELETE FROM customers WHERE id = 'a1'"))  # the constraints are real
    outcomes = erase(datamap, ANN.email, ErasureJournal(service_engine))
    assert {name: outcome.counts for name, outcome in outcomes.items()} == EXPECTED
    assert outcomes["app"].exempt == (
        Exemption("invoices", "legal_obligation", EXEMPTIONS["legal_obligation"], 1,
                  datetime(2031, 5, 1, 9, 30, tzinfo=UTC)),)  # fmt: skip
    after = state(datamap, env)
    for name in ("app", "cache", "logs"):
        assert without(name, after[name], ANN) == without(name, before[name], ANN), f"{name}: others changed"
    app = after["app"]
    assert not [table for table in ("customers", "orders", "order_items") if set(app[table]) & ANN.ids[table]]
    assert app["invoices"][501] == {"id": 501, "customer_id": None, "amount": 1999}
    assert 502 not in app["invoices"]  # its seven years have passed
    for event_id in (11, 12, 13):
        assert app["events"][event_id]["account_id"] is None
        assert app["events"][event_id]["device_id"] == hmac_of("d-ann", 36)  # cut to VARCHAR(36)
        assert app["events"][event_id]["page"] == before["app"]["events"][event_id]["page"]
    cache = after["cache"]
    assert "session:a1" not in cache
    assert cache["profile:a1"] == {"device": hmac_of("d-ann"), "plan": "gold", "ttl": True}
    logs = after["logs"]
    assert not [line for name, lines in logs.items() if name.startswith("access") for line in lines if b"a1" in line]
    assert sorted(line for name, lines in logs.items() if name.startswith("audit") for line in lines
                  if hmac_of("d-ann").encode() in line) == sorted(
        f'{{"ts": "2026-11-0{day}T10:00:00Z", "email": null, "device": "{hmac_of("d-ann")}", "action": "login"}}\n'
        .encode() for day in (1, 2, 3))  # fmt: skip
    for path in Path(env["LOG_DIR"]).iterdir():
        assert path.stat().st_mode & 0o777 == 0o640, path.name
    assert not [path for path in Path(env["LOG_DIR"]).iterdir() if path.name.startswith(".")]  # no temp files left


def test_replay_gives_the_same_end_state_and_the_same_counts(world: tuple[DataMap, dict[str, str]],
                                                            service_engine: sa.Engine) -> None:  # fmt: skip
    datamap, env = world
    journal = ErasureJournal(service_engine)
    first = erase(datamap, ANN.email, journal)
    end_state = state(datamap, env)
    again = erase(datamap, ANN.email, journal)
    assert {name: (o.counts, o.exempt, o.replayed) for name, o in again.items()} == {
        name: (o.counts, o.exempt, True) for name, o in first.items()}  # fmt: skip
    assert state(datamap, env) == end_state
    # A crash after the stores committed but before the journal said so: the stores are erased again (nothing is
    # left to match) and the counts are still the first ones.
    with service_engine.begin() as conn:
        conn.execute(sa.text("UPDATE erasure_journal SET state = 'pending'"))
    crashed = erase(datamap, ANN.email, journal)
    assert {name: o.counts for name, o in crashed.items()} == EXPECTED
    assert state(datamap, env) == end_state
    without_journal = erase(datamap, ANN.email)
    assert all(not o.counts.get("customers") for o in without_journal.values())  # what a naive replay would say


def test_legal_holds_keep_a_store_or_a_subject_untouched(world: tuple[DataMap, dict[str, str]],
                                                        service_engine: sa.Engine) -> None:  # fmt: skip
    datamap, env = world
    holds = LegalHolds(service_engine)
    holds.place("regulator inquiry 2026-14", store="cache")
    bob_hold = holds.place("Doe v. Acme", subject_key="sk-bob")
    before = state(datamap, env)
    outcomes = erase(datamap, ANN.email, subject_key="sk-ann", holds=holds.for_subject("sk-ann"))
    assert outcomes["cache"].counts == {"profiles": {"held": 1}, "sessions": {"held": 1}}
    assert {item.reason for item in outcomes["cache"].exempt} == {"legal hold: regulator inquiry 2026-14"}
    assert state(datamap, env)["cache"] == before["cache"]
    assert outcomes["app"].counts == EXPECTED["app"]
    before = state(datamap, env)
    outcomes = erase(datamap, BOB.email, subject_key="sk-bob", holds=holds.for_subject("sk-bob"))
    assert outcomes["app"].counts["customers"] == {"held": 1}
    assert outcomes["logs"].exempt[0].reason == "legal hold: Doe v. Acme"
    assert state(datamap, env) == before
    assert holds.release(bob_hold.hold_id)
    assert [hold.store for hold in holds.for_subject("sk-bob")] == ["cache"]


@pytest.fixture
def pg_world(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[DataMap, dict[str, str]]]:
    yield from build_world(pg_url, redis_url, tmp_path)


@pytest.fixture
def ledger_url(postgres_server: DatabaseServer) -> Iterator[str]:
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


def test_a_restored_backup_is_erased_again_and_nothing_else(pg_world: tuple[DataMap, dict[str, str]],
                                                           ledger_url: str, tmp_path: Path) -> None:  # fmt: skip
    datamap, env = pg_world
    libpq = sa.make_url(env["APP_DB_URL"]).set(drivername="postgresql").render_as_string(hide_password=False)
    dump = tmp_path / "app.sql"
    subprocess.run([pg_tool("pg_dump"), "--no-owner", "--file", str(dump), libpq], check=True)
    shutil.copytree(env["LOG_DIR"], tmp_path / "logs-backup", copy_function=shutil.copy2)
    cache = redis.Redis.from_url(env["REDIS_URL"])
    cache_backup = {key: (bytes(cache.dump(key) or b""), cache.pttl(key))
                    for key in cache.scan_iter(match=f"{env['KEY_PREFIX']}:*")}  # fmt: skip
    original = state(datamap, env)
    ledger_engine = make_engine(ledger_url)
    create_erasure_tables(ledger_engine)
    ledger = Ledger(ledger_engine, KEYS.ledger)
    first = erase(datamap, ANN.email)
    with ledger_engine.begin() as conn:
        assert ledger.add(conn, REQUEST, identifiers_of_erased(datamap), subject_key="sk-ann") > 0
    erased = state(datamap, env)

    with sa.create_engine(env["APP_DB_URL"]).begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    subprocess.run([pg_tool("psql"), "--quiet", "--set", "ON_ERROR_STOP=1", "--file", str(dump), libpq], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    shutil.rmtree(env["LOG_DIR"])
    shutil.copytree(tmp_path / "logs-backup", env["LOG_DIR"], copy_function=shutil.copy2)
    for key, (dumped, ttl) in cache_backup.items():
        cache.restore(key, max(ttl, 0), dumped, replace=True)
    assert state(datamap, env) == original

    dry = reapply("app", datamap, ledger, hmac_key=KEYS.deidentify, dry_run=True)
    assert dry.outcome.counts == EXPECTED["app"] and state(datamap, env) == original
    for name in ("app", "logs"):
        again = reapply(name, datamap, ledger, hmac_key=KEYS.deidentify)
        assert again.outcome.counts == first[name].counts, name
    arguments = ["--store", "cache", "--datamap", str(tmp_path / "datamap.yaml"), "--ledger-url", ledger_url]
    result = CliRunner().invoke(cli(), arguments, env={**env, "CCPA_SUBJECT_KEY_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    assert "sessions" in result.output and "deleted" in result.output
    assert state(datamap, env) == erased
    cache.close()

    assert should_suppress(ledger, {"email": "ANN@example.com "})
    assert should_suppress(ledger, {"device_id": ["d-cat", "d-ann"]})
    assert not should_suppress(ledger, {"email": BOB.email, "account_id": "b2"})
    assert not ledger.covers("email", "a1")  # entries are per kind
    ledger_engine.dispose()


DEMO_STORES = ("app-db", "marketing-db", "sessions", "web-logs")


@pytest.fixture
def demo_target(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[DemoTarget]:
    """The demo company (app database in PostgreSQL) with its own Redis database, emptied afterwards."""
    target = DemoTarget.in_directory(tmp_path / "demo", redis_url.rsplit("/", 1)[0] + "/13", app_db_url=pg_url)
    generate_company(target, 20, seed=7, parallel=False, force=True)
    yield target
    client = redis.Redis.from_url(target.redis_url)
    for pattern in ("session:*", "device:*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    client.close()


def demo_walk(datamap: DataMap, seeds: dict[str, frozenset[str]]) -> WalkResult:
    connectors = {name: open_connector(datamap, store) for name in DEMO_STORES if (store := datamap.store(name))}
    try:
        return walk(datamap, connectors, seeds)
    finally:
        for connector in connectors.values():
            connector.close()


def test_the_demo_subject_is_gone_but_for_its_retained_records(demo_target: DemoTarget) -> None:
    datamap = load_demo_datamap(demo_target)
    subject = next(iter_subjects(1, seed=7))
    found = demo_walk(datamap, {"email": frozenset({subject.email}), "account_id": frozenset({subject.account_id})})
    assert found.complete and all(found.records[name] for name in DEMO_STORES)
    engine = ErasureEngine(datamap, KEYS.deidentify)
    try:
        outcome = engine.erase(plan_erasure(datamap, found.identifiers, stores=DEMO_STORES))
    finally:
        engine.close()
    assert outcome.complete, outcome.failures
    retained = {(store.store, name): actions.get("retained", 0)
                for store in outcome.stores for name, actions in store.counts.items()}  # fmt: skip
    assert retained[("app-db", "orders")] and retained[("web-logs", "access")]
    assert outcome.store("app-db").counts["customers"] == {"deleted": 1}  # type: ignore[union-attr]
    assert outcome.store("app-db").counts["analytics_events"].keys() == {"deidentified"}  # type: ignore[union-attr]
    again = demo_walk(datamap, found.identifiers)  # every value the first walk reached, not only the seeds
    left = {(name, record.collection) for name, records in again.records.items() for record in records}
    assert {key: count for key, count in retained.items() if count} == {
        key: sum(1 for name, records in again.records.items() for r in records if (name, r.collection) == key)
        for key in left}  # fmt: skip
    checks = [record for record in again.records["app-db"] if record.collection == "identity_checks"]
    assert all(record.values["ssn"] is None and record.values["id_number"] is None for record in checks)


def identifiers_of_erased(datamap: DataMap) -> dict[str, frozenset[str]]:
    """What the deletion service would record: the identifiers the walk reached before the erasure."""
    return {"email": frozenset({ANN.email.lower()}), "account_id": frozenset({"a1"}),
            "order_id": frozenset({"101", "102"}), "device_id": frozenset({"d-ann"})}  # fmt: skip


def pg_tool(name: str) -> str:
    server_bin = Path("/usr/lib/postgresql/15/bin") / name
    found = shutil.which(name) or (str(server_bin) if server_bin.exists() else None)
    if found is None:
        pytest.skip(f"{name} not found")
    return found


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(backups_reapply)
    return app


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


def test_mariadb_erases_only_exact_matches_under_a_case_insensitive_collation(mariadb_url: str) -> None:
    """utf8mb4_unicode_ci also equates accents and trailing spaces: those rows belong to someone else and stay."""
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE members (id INT PRIMARY KEY, email VARCHAR(200), KEY ix_email (email))")
        conn.exec_driver_sql("INSERT INTO members VALUES (1, 'JOSE@example.com'), (2, 'josé@example.com'), "
                             "(3, 'jose@example.com '), (4, 'ann@example.com')")  # fmt: skip
    datamap = parse_datamap(
        "business: Acme\nstores:\n  - name: shop\n    kind: sql\n    url: ${SHOP}\n    collections:\n"
        "      - name: members\n        fields:\n          - {name: id, identifies: account_id, category: A}\n"
        "          - {name: email, identifies: email, category: A}\n",
        "members.yaml", {"SHOP": mariadb_url},
    )  # fmt: skip
    eraser = ErasureEngine(datamap, KEYS.deidentify)
    try:
        outcome = eraser.erase(plan_erasure(datamap, {"email": frozenset({"jose@example.com"})}), REQUEST)
    finally:
        eraser.close()
    assert outcome.complete, outcome.failures
    with engine.connect() as conn:
        left = sorted(conn.execute(sa.text("SELECT id FROM members")).scalars())
    engine.dispose()
    assert left == [2, 3, 4]
