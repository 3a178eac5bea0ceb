"""The peer bench's database side: one database per size loaded from bench/peer_schema.sql with psql, and the
floors, the bare look-ups and DELETEs on one warm psycopg connection."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psycopg

from devtools.localstack.postgres import find_pg_bin
from services.common.datamap import DataMap
from services.common.stores.sql import SqlConnector
from services.common.stores.walk import walk

SCHEMA = Path(__file__).with_name("peer_schema.sql")
# The 9 indexed look-ups of one access request, as a bare client asks them (ids from the customer row).
LOOKUPS = (
    "SELECT * FROM customer WHERE email = %(email)s",
    "SELECT * FROM visit WHERE email = %(email)s",
    "SELECT * FROM service_request WHERE email = %(email)s",
    "SELECT * FROM address WHERE customer_id = %(id)s",
    "SELECT * FROM orders WHERE customer_id = %(id)s",
    "SELECT * FROM payment_card WHERE customer_id = %(id)s",
    "SELECT * FROM login WHERE customer_id = %(id)s",
    "SELECT * FROM product WHERE id = ANY(%(products)s)",
    "SELECT * FROM employee WHERE id = ANY(%(employees)s)",
)
DELETES = (
    "DELETE FROM orders WHERE customer_id = %(id)s",
    "DELETE FROM payment_card WHERE customer_id = %(id)s",
    "DELETE FROM login WHERE customer_id = %(id)s",
    "DELETE FROM address WHERE customer_id = %(id)s",
    "DELETE FROM visit WHERE email = %(email)s",
    "DELETE FROM service_request WHERE email = %(email)s",
    "DELETE FROM customer WHERE id = %(id)s",
)


def load_schema(libpq_url: str, customers: int) -> float:
    """psql -v customers=N -f peer_schema.sql; seconds taken."""
    started = time.perf_counter()
    subprocess.run([str(find_pg_bin() / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-v", f"customers={customers}",
                    "-f", str(SCHEMA), libpq_url], check=True, capture_output=True)  # fmt: skip
    return time.perf_counter() - started


def access_floor(libpq_url: str, customer_ids: list[int]) -> list[float]:
    """The 9 bare look-ups per customer on one warm connection."""
    timings = []
    with psycopg.connect(libpq_url, autocommit=True) as conn:
        for number in [customer_ids[0], *customer_ids]:
            started = time.perf_counter()
            _lookups(conn, number)
            timings.append(time.perf_counter() - started)
    return timings[1:]


def _lookups(conn: psycopg.Connection[tuple[object, ...]], number: int) -> None:
    params: dict[str, object] = {"email": f"customer{number}@example.com", "id": number}
    params["products"] = [r[0] for r in conn.execute("SELECT product_id FROM orders WHERE customer_id = %s", [number])]
    params["employees"] = [r[0] for r in conn.execute("SELECT employee_id FROM service_request WHERE email = %s",
                                                      [params["email"]])]  # fmt: skip
    for statement in LOOKUPS:
        conn.execute(statement, params).fetchall()


def walk_floor(datamap: DataMap, customer_ids: list[int]) -> list[float]:
    """Our walk alone over the same data map and adapter, in-process on warm connections (no Kafka, no report)."""
    connector = SqlConnector(datamap, datamap.stores[0])
    timings = []
    try:
        for number in [customer_ids[0], *customer_ids]:
            started = time.perf_counter()
            result = walk(
                datamap, {connector.store.name: connector}, {"email": frozenset({f"customer{number}@example.com"})}
            )
            timings.append(time.perf_counter() - started)
            assert not result.failures, result.failures
    finally:
        connector.close()
    return timings[1:]


def deletion_floor(libpq_url: str, customer_ids: list[int]) -> list[float]:
    """Bare DELETEs in one transaction, then the 9 look-ups again (the re-walk), per customer."""
    timings = []
    with psycopg.connect(libpq_url) as conn:
        for number in customer_ids:
            started = time.perf_counter()
            with conn.transaction():
                for statement in DELETES:
                    conn.execute(statement, {"id": number, "email": f"customer{number}@example.com"})
            _lookups(conn, number)
            conn.commit()
            timings.append(time.perf_counter() - started)
    return timings
