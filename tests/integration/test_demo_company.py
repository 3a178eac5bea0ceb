"""The demo company generated into real stores (PostgreSQL, MariaDB, SQLite, Redis, log files) and its providers'
API."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis
import sqlalchemy as sa
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from devtools.demo import company
from devtools.demo.cli import demo_generate, demo_subjects
from devtools.demo.generator import DemoCompany, DemoTarget, generate_company, load_demo_datamap
from devtools.demo.planted import DECOYS, PLANTED_PI, REVEALING_SHARED, UNMAPPED_COLLECTIONS
from devtools.demo.providers import provider_app
from devtools.demo.subjects import iter_subjects, list_subjects
from devtools.demo.traces import LOG_FILES
from devtools.localstack import DatabaseServer, ExistingMariaDB, free_port
from services.common.datamap import DataMap
from services.common.stores import open_connector, walk
from services.discovery.scanner import ScanOptions, evaluate, scan
from tests.support import wait_for

pytestmark = pytest.mark.integration
SUBJECTS = 120


def redis_database(url: str, number: int) -> str:
    """The same server, another logical database, so the demo's keys meet no other test's."""
    return urlsplit(url)._replace(path=f"/{number}").geturl()


def company_on_server(server: DatabaseServer | ExistingMariaDB, redis_url: str, folder: Path) -> Iterator[DemoCompany]:
    """App and marketing databases on a database server, generated inline; dropped after the module."""
    names = [f"demo_{role}_{uuid.uuid4().hex[:10]}" for role in ("app", "marketing")]
    app_url, marketing_url = (server.create_database(name) for name in names)
    target = DemoTarget.in_directory(folder, redis_url, app_db_url=app_url, marketing_db_url=marketing_url)
    yield generate_company(target, SUBJECTS, seed=7, parallel=False)
    for name in names:
        server.drop_database(name)


@pytest.fixture(scope="module")
def pg_company(
    postgres_server: DatabaseServer, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoCompany]:
    yield from company_on_server(postgres_server, redis_database(redis_url, 11), tmp_path_factory.mktemp("pg-demo"))


@pytest.fixture(scope="module")
def mariadb_company(
    mariadb_server: ExistingMariaDB, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoCompany]:
    """The MySQL dialect: MariaDB's collations and types (sa.Double, indexes without lower())."""
    folder = tmp_path_factory.mktemp("mariadb-demo")
    yield from company_on_server(mariadb_server, redis_database(redis_url, 15), folder)


@pytest.fixture(scope="module")
def sqlite_company(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> DemoCompany:
    """Everything in SQLite files, the second job in a child interpreter as for large companies."""
    target = DemoTarget.in_directory(tmp_path_factory.mktemp("sqlite-demo"), redis_database(redis_url, 12))
    return generate_company(target, SUBJECTS, seed=7, parallel=True)


@pytest.fixture(params=["pg_company", "mariadb_company", "sqlite_company"])
def generated(request: pytest.FixtureRequest) -> DemoCompany:
    demo: DemoCompany = request.getfixturevalue(request.param)
    return demo


def test_every_collection_received_records(generated: DemoCompany) -> None:
    expected = (
        "app-db.orders",
        "app-db.order_items",
        "app-db.legacy_imports",
        "marketing-db.subscribers",
        "sessions.sessions",
        "sessions.devices",
        "mailer.contacts",
        "mailer.deliveries",
        "shipper.shipments",
        *(f"web-logs.{name}" for name in LOG_FILES),
    )
    assert not [name for name in expected if generated.counts.get(name, 0) == 0]
    assert generated.counts["app-db.customers"] == SUBJECTS
    assert generated.target.manifest_path.is_file()


def test_every_data_map_column_exists_and_planted_ones_are_unmapped(generated: DemoCompany) -> None:
    datamap = load_demo_datamap(generated.target)
    planted = {(store, collection, field) for store, collection, field, _kind in PLANTED_PI}
    for store in (s for s in datamap.stores if s.kind == "sql"):
        assert store.url
        engine = sa.create_engine(store.url)
        try:
            inspector = sa.inspect(engine)
            tables = set(inspector.get_table_names())
            for collection in store.collections:
                assert collection.name in tables, f"{store.name}.{collection.name}"
            for table in tables:
                columns = {column["name"] for column in inspector.get_columns(table)}
                mapped = mapped_fields(datamap, store.name, table)
                assert mapped <= columns, f"{store.name}.{table}: mapped but missing {mapped - columns}"
                strays = {c for c in columns - mapped if (store.name, table, c) not in planted | DECOYS}
                assert not strays, f"{store.name}.{table}: neither mapped, planted nor decoy: {strays}"
        finally:
            engine.dispose()
    for store_name, collection_name, field_name in planted:
        assert field_name not in mapped_fields(datamap, store_name, collection_name)
    assert ("app-db", "legacy_imports") in UNMAPPED_COLLECTIONS


def mapped_fields(datamap: DataMap, store_name: str, collection_name: str) -> set[str]:
    store = datamap.store(store_name)
    collection = store.collection(collection_name) if store else None
    return {field.name for field in collection.fields} if collection else set()


def test_customers_are_exactly_the_company_customers(pg_company: DemoCompany) -> None:
    rows = query(
        pg_company.target.app_db_url,
        "SELECT account_id, email, phone, full_name, postal_code, date_of_birth FROM customers ORDER BY account_id",
    )
    assert [company.Customer(*row) for row in rows] == company.generate(SUBJECTS, 7)


def test_every_backend_holds_the_same_rows(
    pg_company: DemoCompany, mariadb_company: DemoCompany, sqlite_company: DemoCompany
) -> None:
    statements = (
        "SELECT order_id, account_id, placed_at, status, total_cents FROM orders ORDER BY order_id",
        "SELECT event_id, account_id, device_id, ip_address, latitude, occurred_at FROM analytics_events "
        "ORDER BY event_id",
        "SELECT check_id, ssn FROM identity_checks ORDER BY check_id",
    )
    for statement in statements:
        expected = naive(query(pg_company.target.app_db_url, statement))
        assert naive(query(sqlite_company.target.app_db_url, statement)) == expected
        assert naive(query(mariadb_company.target.app_db_url, statement)) == expected
    assert pg_company.counts == sqlite_company.counts == mariadb_company.counts


def test_a_walk_finds_the_same_records_on_every_backend(
    pg_company: DemoCompany, mariadb_company: DemoCompany, sqlite_company: DemoCompany
) -> None:
    """From a subject's email, written in another case, through both SQL databases of the demo."""
    subject = list(iter_subjects(SUBJECTS, 7))[20]  # every 10th subject is in every store
    found = {}
    for demo in (pg_company, mariadb_company, sqlite_company):
        datamap = load_demo_datamap(demo.target)
        connectors = {name: open_connector(datamap, store) for name in ("app-db", "marketing-db")
                      if (store := datamap.store(name))}  # fmt: skip
        try:
            result = walk(datamap, connectors, {"email": frozenset({subject.customer.email.upper()})})
        finally:
            for connector in connectors.values():
                connector.close()
        assert result.complete and not result.failures
        found[demo.target.app_db_url.split(":", 1)[0]] = (
            sorted((r.store, r.collection, r.locator) for records in result.records.values() for r in records),
            result.identifiers,
        )
    [(pg_records, pg_identifiers)] = [value for key, value in found.items() if key.startswith("postgresql")]
    assert len(pg_records) > 10 and {store for store, _, _ in pg_records} == {"app-db", "marketing-db"}
    assert all(value == (pg_records, pg_identifiers) for value in found.values()), found.keys()


def test_lookup_columns_are_indexed(pg_company: DemoCompany) -> None:
    engine = sa.create_engine(pg_company.target.app_db_url)
    try:
        indexed = {tuple(index["column_names"]) for index in sa.inspect(engine).get_indexes("analytics_events")}
    finally:
        engine.dispose()
    assert {("account_id",), ("device_id",), ("cookie_id",), ("ip_address",)} <= indexed


def test_sessions_and_devices_are_in_redis(generated: DemoCompany) -> None:
    client = redis.Redis.from_url(generated.target.redis_url, decode_responses=True)
    try:
        for subject in list(iter_subjects(SUBJECTS, 7))[::10]:
            session = client.hgetall(f"session:{subject.account_id}")
            assert session["email"] == subject.email and session["device_id"] == subject.device_ids[0]
            assert session["checkout_phone"] == subject.customer.phone
            for device_id in subject.device_ids:
                device = client.get(f"device:{device_id}")
                assert isinstance(device, str) and json.loads(device)["account_id"] == subject.account_id
        assert sum(1 for _ in client.scan_iter("session:*")) == generated.counts["sessions.sessions"]
    finally:
        client.close()


def test_access_logs_are_rotated_and_hold_every_tenth_subject(generated: DemoCompany) -> None:
    log_dir = generated.target.log_dir
    assert sorted(path.name for path in log_dir.iterdir()) == sorted(LOG_FILES)
    for name in LOG_FILES:
        opener: Any = gzip.open if name.endswith(".gz") else open
        with opener(log_dir / name, "rt", encoding="utf-8") as handle:
            lines = [json.loads(line) for line in handle]
        assert len(lines) == generated.counts[f"web-logs.{name}"]
        devices = {line["device_id"] for line in lines}
        for subject in list(iter_subjects(SUBJECTS, 7))[::10]:
            assert subject.device_ids[0] in devices, f"{subject.account_id} missing from {name}"


def test_listed_subjects_come_from_the_data(generated: DemoCompany) -> None:
    listed = list_subjects(generated.target.app_db_url, limit=5, everywhere=True)
    assert [subject.account_id for subject in listed] == [f"acct-{i:07d}" for i in range(0, 50, 10)]
    client = redis.Redis.from_url(generated.target.redis_url)
    try:
        assert all(subject.device_id and client.exists(f"device:{subject.device_id}") for subject in listed)
    finally:
        client.close()


def test_generating_again_keeps_a_matching_company_unless_forced_or_lost(redis_url: str, tmp_path: Path) -> None:
    target = DemoTarget.in_directory(tmp_path, redis_database(redis_url, 13))
    first = generate_company(target, 30, seed=3)
    again = generate_company(target, 30, seed=3)
    assert again.reused and again.counts == first.counts
    forced = generate_company(target, 30, seed=3, force=True)
    assert not forced.reused and forced.counts == first.counts
    assert query(target.app_db_url, "SELECT count(*) FROM customers") == [(30,)]
    client = redis.Redis.from_url(target.redis_url)
    try:
        client.flushdb()  # a Redis restarted without persistence
    finally:
        client.close()
    assert not generate_company(target, 30, seed=3).reused
    bigger = generate_company(target, 40, seed=3)
    assert not bigger.reused and query(target.app_db_url, "SELECT count(*) FROM customers") == [(40,)]


@pytest.fixture
def mailer(sqlite_company: DemoCompany) -> Iterator[TestClient]:
    app = provider_app("mailer", sqlite_company.target.provider_data("mailer"), "mailer-secret")
    with TestClient(app) as client:
        yield client


@pytest.fixture
def shipper(sqlite_company: DemoCompany) -> Iterator[TestClient]:
    app = provider_app("shipper", sqlite_company.target.provider_data("shipper"), "shipper-secret")
    with TestClient(app) as client:
        yield client


def access(client: TestClient, token: str, **identifiers: list[str]) -> httpx.Response:
    response: httpx.Response = client.post(
        "/privacy/v1/access", json={"identifiers": identifiers}, headers={"Authorization": f"Bearer {token}"}
    )
    return response


def test_a_provider_wants_its_bearer_token(mailer: TestClient) -> None:
    assert mailer.get("/healthz").json() == {"provider": "mailer", "status": "ok"}
    body = {"identifiers": {"email": ["barbara.turing.0@example.com"]}}
    assert mailer.post("/privacy/v1/access", json=body).status_code == 401
    assert access(mailer, "wrong", email=["barbara.turing.0@example.com"]).status_code == 401


def test_the_mailer_finds_contacts_and_deliveries_by_email_or_account(mailer: TestClient) -> None:
    subject = next(iter_subjects(1, 7))
    records = access(mailer, "mailer-secret", email=[subject.email.upper()]).json()["records"]
    assert {record["collection"] for record in records} == {"contacts", "deliveries"}
    assert all(record["values"]["email"] == subject.email for record in records)
    contact = next(record for record in records if record["collection"] == "contacts")
    assert contact["locator"].startswith("ct_") and contact["values"]["external_id"] == subject.account_id
    assert contact["occurred_at"].endswith("Z")
    by_account = access(mailer, "mailer-secret", account_id=[subject.account_id]).json()["records"]
    assert [record["locator"] for record in by_account] == [contact["locator"]]


def test_the_shipper_finds_shipments_by_account_order_email_or_phone(shipper: TestClient) -> None:
    subject = next(iter_subjects(1, 7))
    by_account = access(shipper, "shipper-secret", account_id=[subject.account_id]).json()["records"]
    assert by_account and all(record["collection"] == "shipments" for record in by_account)
    order = by_account[0]["values"]["order_ref"]
    for kind, value in (("order_id", order), ("email", subject.email), ("phone", subject.customer.phone)):
        found = access(shipper, "shipper-secret", **{kind: [value]}).json()["records"]
        assert by_account[0]["locator"] in {record["locator"] for record in found}, kind


def test_a_provider_answers_nothing_for_strangers_and_odd_values(shipper: TestClient) -> None:
    for identifiers in (
        {"email": ["nobody@example.com"]},
        {"account_id": ["' OR '1'='1"]},
        {"favourite_colour": ["x"]},
    ):
        response = shipper.post(
            "/privacy/v1/access", json={"identifiers": identifiers}, headers={"Authorization": "Bearer shipper-secret"}
        )
        assert response.status_code == 200 and response.json() == {"records": []}
    too_many = {"email": [f"x{i}@example.com" for i in range(1001)]}
    response = shipper.post(
        "/privacy/v1/access", json={"identifiers": too_many}, headers={"Authorization": "Bearer shipper-secret"}
    )
    assert response.status_code == 422


def test_a_provider_runs_as_a_module(sqlite_company: DemoCompany) -> None:
    port = free_port()
    env = {**os.environ, "DEMO_SHIPPER_TOKEN": "module-secret"}
    data = sqlite_company.target.provider_data("shipper")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.demo.providers",
            "--name",
            "shipper",
            "--port",
            str(port),
            "--data",
            str(data),
        ],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: healthy(f"{base}/healthz"), timeout=30, what="the shipper provider to answer")
        subject = next(iter_subjects(1, 7))
        response = httpx.post(
            f"{base}/privacy/v1/access",
            json={"identifiers": {"email": [subject.email]}},
            headers={"Authorization": "Bearer module-secret"},
        )
        assert response.status_code == 200 and response.json()["records"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_cli_generates_and_lists_subjects(redis_url: str, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("generate")(demo_generate)
    app.command("subjects")(demo_subjects)
    runner = CliRunner()
    redis_option = ["--redis-url", redis_database(redis_url, 14)]
    generated = runner.invoke(app, ["generate", "-n", "25", "--dir", str(tmp_path), *redis_option])
    assert generated.exit_code == 0, generated.output
    assert (tmp_path / "manifest.json").is_file() and "DEMO_MAILER_TOKEN" in (tmp_path / "demo.env").read_text()
    listed = runner.invoke(app, ["subjects", "--dir", str(tmp_path), "--everywhere", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [entry["account_id"] for entry in json.loads(listed.output)] == [
        "acct-0000000",
        "acct-0000010",
        "acct-0000020",
    ]
    missing = runner.invoke(app, ["subjects", "--dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no demo manifest" in missing.output


def query(url: str, statement: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(statement)]
    finally:
        engine.dispose()


def naive(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Timestamps as naive UTC and in one text form, so PostgreSQL and SQLite rows compare equal."""
    return [
        tuple(str(value.replace(tzinfo=None)) if hasattr(value, "tzinfo") else value for value in row) for row in rows
    ]


def test_every_lookup_of_the_walk_has_an_index(generated: DemoCompany) -> None:
    """The PI scanner's index check finds nothing to add in the demo's databases, on every backend (on MariaDB the
    email indexes are plain ones, which its case-insensitive collations make serve the look-ups)."""
    result = scan(load_demo_datamap(generated.target), ScanOptions(sample_rows=5, redis_keys=10, log_lines=10))
    sql_collections = [collection for store in result.stores if store.kind == "sql" for collection in store.collections]
    assert len(sql_collections) > 10 and not result.unreachable
    assert {collection.name: collection.unindexed_lookups for collection in sql_collections
            if collection.unindexed_lookups} == {}  # fmt: skip


def test_the_scanner_flags_revealing_page_titles_shared_with_the_ad_network(pg_company: DemoCompany) -> None:
    """Healthline 2025: the content check finds the planted health and orientation titles in `page_title`, which
    flow adreach-events shares with the ad network, and nothing else; the unmapped-PI score is unchanged."""
    result = scan(load_demo_datamap(pg_company.target), ScanOptions())
    flagged = {(f.store, f.collection, f.field, r.category) for f in result.revealing for r in (f.content.revealed
               if f.content else ())}  # fmt: skip
    assert flagged == REVEALING_SHARED
    [finding] = result.revealing
    assert finding.content is not None and finding.content.destination.recipients == ("adreach",)
    assert "adreach-events" in finding.content.destination.flows
    health = finding.content.revealed[0]
    assert health.category == "health" and 0.01 < health.ratio < 0.1
    score = evaluate(result, PLANTED_PI, DECOYS)
    assert (score.precision, score.recall) == (1.0, 1.0)
