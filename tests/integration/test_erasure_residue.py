"""What erasures leave in the stores' files: the demo company's SQLite databases (in WAL mode, as the identity
source opens them) hold no byte of an erased subject's e-mail that no row holds; PostgreSQL's optional VACUUM
leaves no dead row version of the erased rows in the tables the batch changed.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from devtools.demo.generator import DemoTarget, generate_company, load_demo_datamap
from devtools.demo.subjects import Subject, iter_subjects
from services.common.datamap import DataMap, parse_datamap
from services.common.db import make_engine
from services.common.stores import open_connector, walk
from services.deletion.erasure import ErasureEngine, erasure_keys, plan_erasure

pytestmark = pytest.mark.integration
KEYS = erasure_keys({"CCPA_SUBJECT_KEY_SECRET": base64.b64encode(b"residue-test-service-secret-32by").decode()})
SUBJECTS = 120
SQLITE_STORES = ("app-db", "marketing-db")
WALKED = (*SQLITE_STORES, "sessions", "web-logs")


@pytest.fixture
def sqlite_company(redis_url: str, tmp_path: Path) -> Iterator[DemoTarget]:
    """The demo company on SQLite files, in WAL mode and held open by another process's pool, as the identity
    source and discovery hold them: the last connection to close would checkpoint and remove the WAL itself."""
    target = DemoTarget.in_directory(tmp_path / "demo", redis_url.rsplit("/", 1)[0] + "/11")
    generate_company(target, SUBJECTS, seed=11, parallel=False, force=True)
    readers = [make_engine(url) for url in (target.app_db_url, target.marketing_db_url)]
    with contextlib.ExitStack() as held:
        for engine in readers:
            held.enter_context(engine.connect()).exec_driver_sql("SELECT count(*) FROM sqlite_master").all()
        yield target
    for engine in readers:
        engine.dispose()
    client = redis.Redis.from_url(target.redis_url)
    client.flushdb()
    client.close()


def identifiers_of(datamap: DataMap, subject: Subject) -> dict[str, frozenset[str]]:
    connectors = {name: open_connector(datamap, store) for name in WALKED if (store := datamap.store(name))}
    try:
        seeds = {"email": frozenset({subject.email}), "account_id": frozenset({subject.account_id})}
        return walk(datamap, connectors, seeds).identifiers
    finally:
        for connector in connectors.values():
            connector.close()


def database_files(url: str) -> list[Path]:
    database = Path(sa.engine.make_url(url).database or "")
    return [path for path in (database, Path(f"{database}-wal")) if path.exists()]


def rows_text(url: str) -> bytes:
    """Every value every row holds, as text: what a query can still read."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            return "\n".join(raw.iterdump()).lower().encode()
    finally:
        engine.dispose()


def test_erased_emails_leave_no_bytes_in_the_sqlite_files_or_their_wal(sqlite_company: DemoTarget) -> None:
    datamap = load_demo_datamap(sqlite_company)
    erased = [subject for subject in iter_subjects(SUBJECTS, seed=11) if subject.index % 3 == 0][:30]
    engine = ErasureEngine(datamap, KEYS.deidentify)
    try:
        for batch in (erased[:10], erased[10:20], erased[20:]):  # as the worker takes them: several batches
            plans = [(plan_erasure(datamap, identifiers_of(datamap, s), stores=SQLITE_STORES), None) for s in batch]
            assert all(outcome.complete for outcome in engine.erase_many(plans))
    finally:
        engine.close()
    urls = (sqlite_company.app_db_url, sqlite_company.marketing_db_url)
    held = b"".join(rows_text(url) for url in urls)
    emails = [subject.email.lower().encode() for subject in erased]
    gone = [email for email in emails if email not in held]
    assert len(gone) >= 25, "the erasure should have removed (nearly) every erased subject's e-mail from the rows"
    left = {path.name: sum(email in path.read_bytes().lower() for email in gone)
            for url in urls for path in database_files(url)}  # fmt: skip
    assert not any(left.values()), f"erased e-mails still in file bytes with no row holding them: {left}"
    for url in urls:
        engine = make_engine(url)
        with engine.connect() as conn:  # the connection the erasure engine's kind of store opens
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        engine.dispose()


VACUUM_DATAMAP = """
business: Acme
stores:
  - name: app
    kind: sql
    url: {url}
    collections:
      - name: customers
        primary_key: [id]
        fields:
          - {{name: id, identifies: account_id, category: A}}
          - {{name: email, identifies: email, category: A}}
"""


def dead_tuples(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT dead_tuple_count FROM pgstattuple(:t)"), {"t": table}).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("vacuum", [False, True], ids=["vacuum-off", "vacuum-on"])
def test_the_vacuum_step_leaves_no_dead_row_versions_of_erased_rows_on_postgresql(pg_url: str, vacuum: bool) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pgstattuple"))
        conn.execute(sa.text("CREATE TABLE customers (id text PRIMARY KEY, email text NOT NULL)"))
        conn.execute(sa.text("INSERT INTO customers SELECT 'c' || i, 'user' || i || '@example.com' "
                             "FROM generate_series(1, 2000) i"))  # fmt: skip
    engine.dispose()
    from services.deletion.erasure.residue import Vacuum  # here, so the SQLite test also runs on older code

    datamap = parse_datamap(VACUUM_DATAMAP.format(url=pg_url))
    eraser = ErasureEngine(datamap, KEYS.deidentify, vacuum=Vacuum(enabled=vacuum))
    try:
        plans = [(plan_erasure(datamap, {"email": frozenset({f"user{i}@example.com"})}), str(uuid.uuid4()))
                 for i in range(1, 2000, 20)]  # fmt: skip
        assert all(outcome.complete for outcome in eraser.erase_many(plans))
    finally:
        eraser.close()
    if vacuum:
        assert dead_tuples(pg_url, "customers") == 0
    else:
        assert dead_tuples(pg_url, "customers") > 0  # what the step removes: without it they wait for autovacuum


def test_the_vacuum_step_optimizes_the_changed_tables_on_mariadb(mariadb_url: str,
                                                                 caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    from services.deletion.erasure.residue import Vacuum

    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (id varchar(20) PRIMARY KEY, email varchar(100) NOT NULL, "
                             "INDEX (email)) ENGINE=InnoDB"))  # fmt: skip
        conn.execute(sa.text("INSERT INTO customers VALUES (:id, :email)"),
                     [{"id": f"c{i}", "email": f"user{i}@example.com"} for i in range(1, 201)])  # fmt: skip
    datamap = parse_datamap(VACUUM_DATAMAP.format(url=mariadb_url))
    eraser = ErasureEngine(datamap, KEYS.deidentify, vacuum=Vacuum(enabled=True))
    try:
        plans = [(plan_erasure(datamap, {"email": frozenset({f"user{i}@example.com"})}), None) for i in range(1, 40)]
        with caplog.at_level("WARNING", logger="services.deletion.erasure.engine"):
            assert all(outcome.complete for outcome in eraser.erase_many(plans))
    finally:
        eraser.close()
    assert not caplog.records, [record.getMessage() for record in caplog.records]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM customers")).scalar_one() == 161
    engine.dispose()
