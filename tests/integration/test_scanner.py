"""The PI scanner against real stores: SQLite or MariaDB, and PostgreSQL (every table and schema), Redis (SCAN,
hashes, JSON strings, PI in key names) and JSON-lines logs (rotated and gzipped). Planted unmapped PI is found,
decoys are not, and nothing sampled reaches the terminal, the JSON or the patch.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
import typer
import yaml
from typer.testing import CliRunner

from services.common.datamap import parse_datamap
from services.discovery.scanner import ScanOptions, ScanResult, evaluate, result_json, scan, suggested_patch
from services.discovery.scanner.cli import discover_scan
from services.discovery.scanner.detectors import luhn_valid
from tests.datamaps import sql_store
from tests.support import sql_store_url

pytestmark = pytest.mark.integration

REDIS_DB = 11  # the session's Redis is shared; this test owns one logical database and empties it
ROWS = 400

DATAMAP = (
    """
business: Scanner Test Co.
recipients:
  - {name: mailer, role: service_provider, category: email delivery}
stores:
"""
    + sql_store(
        "${APP_DB_URL}",
        """\
      - name: users
        primary_key: [id]
        fields:
          - {name: id, identifies: account_id, category: A}
          - {name: email, identifies: email, category: A}
          - {name: full_name, category: A}
          - {name: created_at}
      - name: orders
        primary_key: [id]
        fields:
          - {name: id, identifies: order_id}
          - {name: user_id, references: users.id}
          - {name: total, category: D}
          - {name: legacy_code, category: D}
""",
    )
    + """\
  - name: crm
    kind: sql
    url: ${CRM_DB}
    collections:
      - name: customers
        fields:
          - {name: id, identifies: customer_id}
          - {name: email, identifies: email, category: A}
          - {name: notes, category: D}
  - name: cache
    kind: redis
    url: ${REDIS_URL}
    collections:
      - name: sessions
        key_pattern: "session:{account_id}"
        fields: [{name: ip, category: A}, {name: user_agent, category: F}]
  - name: logs
    kind: jsonl
    collections:
      - name: access
        path: ${LOG_DIR}/access.log
        not_searched_reason: kept 30 days for security (§1798.105(d)(2))
        fields: [{name: ts}, {name: ip, category: A}, {name: path, category: F}]
  - name: mailer
    kind: http
    url: https://mailer.invalid
    recipient: mailer
    auth: {type: none}
    collections:
      - name: contacts
        fields: [{name: email, identifies: email, category: A}]
"""
)

TRUTH = {
    ("app", "users", "ssn"), ("app", "users", "phone"), ("app", "users", "dob"), ("app", "users", "password_hash"),
    ("app", "orders", "shipping_address"), ("app", "support_tickets", "body"), ("app", "devices", "device_id"),
    ("app", "devices", "lat"), ("app", "devices", "lon"),
    ("crm", "customers", "card_number"), ("crm", "customers", "last_ip"), ("crm", "analytics.events", "client_ip"),
    ("cache", "sessions", "email"), ("cache", "otp:*", "(key)"), ("cache", "cart:*", "contact.phone"),
    ("cache", "contacts:*", "(members)"),
    ("logs", "access", "user.email"),
}  # fmt: skip
DECOYS = {
    ("app", "users", "status"), ("app", "orders", "order_number"), ("app", "orders", "sku"),
    ("app", "orders", "promo_code"), ("app", "orders", "app_version"), ("app", "orders", "tracking_number"),
    ("app", "orders", "ref"), ("app", "devices", "os_version"), ("app", "support_tickets", "priority"),
    ("crm", "analytics.events", "event_name"), ("cache", "feature:*", "value"), ("cache", "rate:*", "value"),
    ("cache", "cart:*", "items[].sku"), ("logs", "access", "version"), ("logs", "access", "latency_ms"),
}  # fmt: skip


class Planted:
    """Generates realistic values and remembers every one, to prove none of them leaks into an output."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.values: set[str] = set()

    def keep(self, value: str) -> str:
        self.values.add(value)
        return value

    def email(self) -> str:
        return self.keep(f"person{self.rng.randrange(10**6)}@example.com")

    def phone(self) -> str:
        area, exchange = self.rng.choice([415, 212, 650, 312, 617]), self.rng.randrange(200, 999)
        return self.keep(f"({area}) {exchange}-{self.rng.randrange(10**4):04d}")

    def ssn(self) -> str:
        return self.keep(f"{self.rng.randrange(1, 665):03d}-{self.rng.randrange(1, 99):02d}-"
                         f"{self.rng.randrange(1, 9999):04d}")  # fmt: skip

    def card(self) -> str:
        while not luhn_valid(digits := "4" + "".join(str(self.rng.randrange(10)) for _ in range(15))):
            pass
        return self.keep(" ".join(digits[i : i + 4] for i in range(0, 16, 4)))

    def ip(self) -> str:
        return self.keep(f"{self.rng.randrange(11, 200)}.{self.rng.randrange(256)}.{self.rng.randrange(256)}."
                         f"{self.rng.randrange(1, 255)}")  # fmt: skip

    def address(self) -> str:
        street = self.rng.choice(["Main St", "Oak Avenue", "Mission Blvd", "Elm Rd"])
        return self.keep(f"{self.rng.randrange(1, 9999)} {street}, Springfield, IL 62701")

    def ten_digits(self) -> int:
        """A valid-looking US number without formatting: the order-number decoy."""
        return int(f"{self.rng.choice([415, 212, 650])}{self.rng.randrange(200, 999)}{self.rng.randrange(10**4):04d}")


def build_app(url: str, planted: Planted) -> None:
    """The app database, in SQLite or MariaDB (the same DDL is valid in both)."""
    rng = planted.rng
    engine = sa.create_engine(url)
    with engine.begin() as db:
        for ddl in (
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, full_name TEXT, ssn TEXT, phone TEXT, dob DATE, "
            "password_hash TEXT, status TEXT, created_at TEXT, avatar BLOB)",
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, order_number BIGINT, sku TEXT, total REAL, "
            "promo_code TEXT, app_version TEXT, tracking_number TEXT, ref TEXT, shipping_address TEXT, "
            "legacy_code TEXT)",
            "CREATE TABLE support_tickets (id INTEGER PRIMARY KEY, user_id INTEGER, body TEXT, priority TEXT)",
            "CREATE TABLE devices (id INTEGER PRIMARY KEY, device_id TEXT, os_version TEXT, lat REAL, lon REAL)",
        ):
            db.exec_driver_sql(ddl)
        users, orders, tickets, devices = [], [], [], []
        for i in range(ROWS):
            born = date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
            users.append((
                i, planted.email(), planted.keep(f"Person Number{i}"), planted.ssn(), planted.phone(),
                born.isoformat(), planted.keep(f"$2b$12${uuid.uuid4().hex}"), rng.choice(["active", "closed"]),
                "2024-05-01T10:00:00Z", b"\x89PNG"))  # fmt: skip
            tracking = planted.card().replace(" ", "")  # Luhn-valid 16 digits, but named as a tracking number
            orders.append((
                i, i, planted.ten_digits(), f"SKU-{rng.randrange(10**5)}", round(rng.uniform(5, 500), 2),
                f"{rng.randrange(10**5):05d}", "1.2.3.4", tracking, str(planted.ten_digits()), planted.address(),
                "A-17"))  # fmt: skip
            body = "Where is my parcel? It has been a week now."
            if i % 3 == 0:
                body = f"Please call me back at {planted.phone()} or write to {planted.email()} about the refund."
            tickets.append((i, i, body, rng.choice(["low", "high"])))
            devices.append(
                (i, planted.keep(str(uuid.uuid4())), "14.2.1.0", rng.uniform(32.5, 42.0), rng.uniform(-124.4, -114.1))
            )
        for table, rows in (("users", users), ("orders", orders), ("support_tickets", tickets), ("devices", devices)):
            marks = ", ".join(["%s" if engine.dialect.name != "sqlite" else "?"] * len(rows[0]))
            db.exec_driver_sql(f"INSERT INTO {table} VALUES ({marks})", rows)
    engine.dispose()


def build_postgres(url: str, planted: Planted) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE customers (id serial PRIMARY KEY, email text, card_number text, "
                                   "last_ip inet, notes text, photo bytea)"))  # fmt: skip
        connection.execute(sa.text("CREATE SCHEMA analytics"))
        connection.execute(sa.text("CREATE TABLE analytics.events (id serial, client_ip text, event_name text)"))
        for _ in range(ROWS):
            connection.execute(
                sa.text("INSERT INTO customers (email, card_number, last_ip, notes) VALUES (:e, :c, :ip, 'VIP')"),
                {"e": planted.email(), "c": planted.card(), "ip": planted.ip()},
            )
            connection.execute(sa.text("INSERT INTO analytics.events (client_ip, event_name) VALUES (:ip, 'view')"),
                               {"ip": planted.ip()})  # fmt: skip
    engine.dispose()


def build_redis(url: str, planted: Planted) -> None:
    client = redis.Redis.from_url(url)
    client.flushdb()
    for i in range(ROWS):
        client.hset(f"session:{i}", mapping={"ip": planted.ip(), "user_agent": "Mozilla/5.0", "email": planted.email()})
        e164 = planted.keep(planted.phone().replace("(", "+1").replace(") ", "").replace("-", ""))
        client.set(f"otp:{e164}", "123456")
        cart = {"items": [{"sku": f"SKU-{i}", "qty": 2}], "contact": {"phone": planted.phone()}, "total": 12.5}
        client.set(f"cart:{uuid.uuid4().hex}", json.dumps(cart))
        client.set(f"rate:api:{i}", str(i))
        if i < 50:
            client.sadd(f"contacts:{i}", planted.email(), planted.email())
    client.set("feature:dark_mode", "on")
    client.close()


def build_logs(folder: Path, planted: Planted) -> None:
    folder.mkdir()

    def lines(count: int) -> str:
        entries = [{"ts": "2024-05-01T10:00:00Z", "ip": planted.ip(), "path": "/cart", "version": "1.2.3.4",
                    "latency_ms": 12, "user": {"email": planted.email(), "plan": "free"}}
                   for _ in range(count)]  # fmt: skip
        return "".join(json.dumps(entry) + "\n" for entry in entries) + "not json\n"

    (folder / "access.log").write_text(lines(150))
    (folder / "access.log.1").write_text(lines(150))
    with gzip.open(folder / "access.log.2.gz", "wt") as rotated:
        rotated.write(lines(150))


@pytest.fixture(params=["sqlite", "mariadb"])
def company(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url: str, redis_url: str
) -> Iterator[tuple[dict[str, str], Planted]]:
    """The app database in SQLite or MariaDB, the CRM in PostgreSQL, a Redis cache, rotated logs."""
    planted = Planted()
    env = {
        "APP_DB_URL": sql_store_url(request, request.param, tmp_path / "app.db"),
        "CRM_DB": pg_url,
        "REDIS_URL": redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}",
        "LOG_DIR": str(tmp_path / "logs"),
    }
    build_app(env["APP_DB_URL"], planted)
    build_postgres(pg_url, planted)
    build_redis(env["REDIS_URL"], planted)
    build_logs(tmp_path / "logs", planted)
    (tmp_path / "datamap.yaml").write_text(DATAMAP)
    yield env, planted
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()


def finding(result: ScanResult, store: str, collection: str, field: str) -> tuple[str, tuple[str, ...], str | None]:
    [found] = [f for f in result.fields if f.key == (store, collection, field)]
    return found.status, tuple(found.kinds), found.confidence


def test_finds_planted_pi_and_leaves_decoys(company: tuple[dict[str, str], Planted]) -> None:
    env, _ = company
    result = scan(parse_datamap(DATAMAP, "datamap.yaml", env), ScanOptions(), source="datamap.yaml")

    score = evaluate(result, TRUTH, DECOYS)
    assert score.false_positives == frozenset() and score.false_negatives == frozenset()
    assert (score.precision, score.recall) == (1.0, 1.0)
    assert result.unreachable == []

    assert finding(result, "app", "users", "ssn") == ("unmapped_pi", ("ssn",), "high")
    assert finding(result, "app", "users", "email")[0] == "covered"
    assert finding(result, "app", "orders", "total")[0] == "mapped_no_pi_seen"
    assert finding(result, "app", "support_tickets", "body")[1][0] in ("phone", "email")
    assert finding(result, "app", "devices", "lat")[1] == ("precise_geolocation",)
    assert finding(result, "cache", "otp:*", "(key)")[1] == ("phone",)
    assert finding(result, "crm", "customers", "card_number")[1] == ("card_number",)


def test_coverage_of_every_store(company: tuple[dict[str, str], Planted]) -> None:
    env, _ = company
    result = scan(parse_datamap(DATAMAP, "datamap.yaml", env), ScanOptions(sample_rows=100, log_lines=200))
    stores = {store.name: store for store in result.stores}

    app = {collection.name: collection for collection in stores["app"].collections}
    assert set(app) == {"users", "orders", "support_tickets", "devices"}
    assert not app["devices"].in_datamap and app["users"].in_datamap
    assert app["users"].records == 100 and app["users"].skipped_fields == ["avatar"]
    assert app["orders"].primary_key == ("id",)
    crm = {collection.name for collection in stores["crm"].collections}
    assert crm == {"customers", "analytics.events"}
    assert {c.name for c in stores["cache"].collections} == {
        "sessions",
        "otp:*",
        "cart:*",
        "rate:*",
        "feature:*",
        "contacts:*",
    }
    [access] = stores["logs"].collections
    assert (
        access.records == 199 and access.notes
    )  # 200 lines read, one of them not JSON == ["1 line(s) not JSON objects, skipped"]
    assert (stores["mailer"].scannable, stores["mailer"].note) == (False, "not scannable (provider)")
    assert result.records == 4 * 100 + 2 * 100 + 4 * 400 + 50 + 1 + 199  # sql tables, pg tables, redis keys, log lines
    assert result.rows_per_second > 0


def test_rotated_and_gzipped_logs_are_read(company: tuple[dict[str, str], Planted]) -> None:
    env, _ = company
    result = scan(parse_datamap(DATAMAP, "datamap.yaml", env), ScanOptions(log_lines=10_000))
    [logs] = [store for store in result.stores if store.name == "logs"]
    assert logs.collections[0].records == 450


def test_no_sampled_value_reaches_any_output(company: tuple[dict[str, str], Planted], tmp_path: Path) -> None:
    env, planted = company
    datamap = parse_datamap(DATAMAP, "datamap.yaml", env)
    result = scan(datamap, ScanOptions())
    outputs = json.dumps(result_json(result)) + suggested_patch(result, datamap) + repr(result)
    cli = run_cli(tmp_path, env, "--json", str(tmp_path / "out.json"), "--patch", str(tmp_path / "patch.yaml"))
    outputs += cli.output + (tmp_path / "out.json").read_text() + (tmp_path / "patch.yaml").read_text()
    leaked = [value for value in planted.values if value in outputs]
    assert leaked == []


def test_patch_suggests_fields_and_new_collections(company: tuple[dict[str, str], Planted]) -> None:
    env, _ = company
    datamap = parse_datamap(DATAMAP, "datamap.yaml", env)
    patch = yaml.safe_load(suggested_patch(scan(datamap, ScanOptions()), datamap))
    stores = {store["name"]: {c["name"]: c for c in store["collections"]} for store in patch["stores"]}

    users = {field["name"]: field for field in stores["app"]["users"]["fields"]}
    assert users["ssn"] == {"name": "ssn", "category": "L", "sensitive": "ssn_dl_state_id_passport", "withheld": "ssn"}
    assert users["password_hash"]["withheld"] == "password"
    assert stores["app"]["devices"]["primary_key"] == ["id"]
    card = stores["crm"]["customers"]["fields"][0]
    assert (card["name"], card["category"], card["withheld"]) == ("card_number", "B", "financial_account")
    assert stores["cache"]["cart"]["key_pattern"] == "cart:{identifier_kind}"
    assert stores["cache"]["cart"]["value_type"] == "json"
    assert stores["logs"]["access"]["fields"][0]["name"] == "user.email"
    assert stores["logs"]["access"]["fields"][0]["identifies"] == "email"


def run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> typer.testing.Result:
    app = typer.Typer()
    app.command()(discover_scan)
    env_file = tmp_path / "scan.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    datamap = tmp_path / "datamap.yaml"
    return CliRunner().invoke(app, ["--datamap", str(datamap), "--env-file", str(env_file), *args])


def test_cli_reports_coverage_and_exits_zero_with_findings(company: tuple[dict[str, str], Planted],
                                                           tmp_path: Path) -> None:  # fmt: skip
    env, _ = company
    outcome = run_cli(tmp_path, env, "--json", str(tmp_path / "scan.json"), "--sample-rows", "50")
    assert outcome.exit_code == 0, outcome.output
    assert "PI scan coverage" in outcome.output and "rows/s" in outcome.output
    document = json.loads((tmp_path / "scan.json").read_text())
    assert document["format"] == "ccpa-pi-scan/1"
    assert document["summary"]["unmapped_pi"] == len(TRUTH)
    assert document["summary"]["rows_per_second"] > 0


def test_cli_exit_one_names_the_unreachable_store_and_scans_the_rest(company: tuple[dict[str, str], Planted],
                                                                     tmp_path: Path) -> None:  # fmt: skip
    env, _ = company
    broken = {**env, "REDIS_URL": "redis://127.0.0.1:1/0", "APP_DB_URL": f"sqlite:///{tmp_path / 'missing.db'}"}
    outcome = run_cli(tmp_path, broken, "--json", str(tmp_path / "scan.json"))
    assert outcome.exit_code == 1, outcome.output
    document = json.loads((tmp_path / "scan.json").read_text())
    assert document["summary"]["unreachable"] == ["app", "cache"]
    stores = {store["name"]: store for store in document["stores"]}
    assert "no SQLite database" in stores["app"]["error"]
    assert stores["crm"]["error"] is None and stores["crm"]["records"] > 0
    assert not (tmp_path / "missing.db").exists()


def test_cli_exit_two_on_a_bad_data_map(tmp_path: Path) -> None:
    (tmp_path / "datamap.yaml").write_text(DATAMAP.replace("kind: redis", "kind: mongo"))
    outcome = run_cli(tmp_path, {"APP_DB_URL": "x", "CRM_DB": "x", "REDIS_URL": "x", "LOG_DIR": "x"})
    assert outcome.exit_code == 2
    assert "invalid data map" in outcome.output and "stores[cache].kind" in outcome.output


def unindexed(result: ScanResult) -> dict[str, list[str]]:
    return {f"{store.name}.{collection.name}": collection.unindexed_lookups for store in result.stores
            for collection in store.collections if collection.unindexed_lookups}  # fmt: skip


def test_identifier_columns_without_an_index_are_named_with_the_index_to_add(
    company: tuple[dict[str, str], Planted], tmp_path: Path
) -> None:
    """The walk asks users.email (lower(email), or email under MariaDB's case-insensitive collation),
    orders.user_id and crm customers.email; users.id and customers.id are primary keys."""
    env, _ = company
    datamap = parse_datamap(DATAMAP, "datamap.yaml", env)
    mariadb = env["APP_DB_URL"].startswith("mysql")
    email = "email" if mariadb else "lower(email)"
    assert unindexed(scan(datamap, ScanOptions(sample_rows=10))) == {
        "app.users": [email], "app.orders": ["user_id"], "crm.customers": ["lower(email)"],
    }  # fmt: skip
    outcome = run_cli(tmp_path, env)
    assert outcome.exit_code == 0  # a warning, not a failure
    assert "app.orders: no index serves the walk's look-up by user_id" in " ".join(outcome.output.split())
    assert "CREATE INDEX ix_orders_user_id ON orders (user_id)" in " ".join(outcome.output.split())

    partial = [(env["CRM_DB"], "CREATE INDEX ix_vip_email ON customers (lower(email)) WHERE notes = 'VIP'")]
    if not mariadb:  # MariaDB has no partial indexes
        partial.append((env["APP_DB_URL"], "CREATE INDEX ix_users_email_some ON users (lower(email)) WHERE id > 0"))
    for url, statement in partial:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(statement)
        engine.dispose()
    assert set(unindexed(scan(datamap, ScanOptions(sample_rows=10)))) == {"app.users", "app.orders", "crm.customers"}

    for url, statements in (
        (env["APP_DB_URL"], ["CREATE INDEX ix_users_email ON users (email(100))" if mariadb
                             else "CREATE INDEX ix_users_email_lower ON users (lower(email))",
                             "CREATE INDEX ix_orders_user_ref ON orders (user_id, id)"]),
        (env["CRM_DB"], ["CREATE INDEX ix_customers_email_lower ON customers (lower(email))"]),
    ):  # fmt: skip
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
        engine.dispose()
    assert unindexed(scan(datamap, ScanOptions(sample_rows=10))) == {}
