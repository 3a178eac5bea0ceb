"""The scanner tests' company: its data map, and stores with PI planted where the map does not say (and decoys
that only look like PI), with what a scan must find."""

from __future__ import annotations

import gzip
import json
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

import redis
import sqlalchemy as sa

from services.discovery.scanner.detectors import luhn_valid
from tests.datamaps import sql_store

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

    (folder / "access.log").write_text(" " * 80 + "\n" + lines(150))  # a line erased in place: blank, not malformed
    (folder / "access.log.1").write_text(lines(150))
    with gzip.open(folder / "access.log.2.gz", "wt") as rotated:
        rotated.write(lines(150))
