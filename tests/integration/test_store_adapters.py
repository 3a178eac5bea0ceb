"""The store adapters' write, flag and sample operations against the real servers: PostgreSQL, MariaDB (whose
case-insensitive collations must not widen a match) and SQLite, and Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from services.common.datamap import DataMap, parse_datamap
from services.common.stores.redis_store import KeyWrite, RedisConnector
from services.common.stores.sql import SqlConnector
from services.optout.rules import ConsentState
from services.optout.systems import SystemsOfRecord
from tests.datamaps import sql_store
from tests.support import SQL_BACKENDS, sql_store_url

pytestmark = pytest.mark.integration

CUSTOMERS = """\
      - name: customers
        primary_key: [n]
        opt_out_flags: {sale_opt_out: do_not_sell, share_opt_out: do_not_share, limit_sensitive: limits}
        fields:
          - {name: n}
          - {name: account, identifies: account_id, category: A}
          - {name: email, identifies: email, category: A}
          - {name: city, category: A}
          - {name: do_not_sell}
          - {name: do_not_share}
          - {name: limits}
"""
metadata = sa.MetaData()
customers = sa.Table(
    "customers", metadata,
    sa.Column("n", sa.Integer, primary_key=True), sa.Column("account", sa.String(20)),
    sa.Column("email", sa.String(200)), sa.Column("city", sa.String(100)),
    sa.Column("do_not_sell", sa.Boolean, nullable=False, default=False),
    sa.Column("do_not_share", sa.Boolean, nullable=False, default=False),
    sa.Column("limits", sa.String(300), nullable=False, default=""),
)  # fmt: skip
ROWS = [
    {"n": 1, "account": "acct-1", "email": "Ann@Example.com", "city": "Fresno"},
    {"n": 2, "account": "ACCT-1", "email": "ann.other@example.com", "city": "Eureka"},  # acct-1 in other case
    {"n": 3, "account": "acct-2", "email": "bob@example.com", "city": "Chico"},
]


@pytest.fixture(params=SQL_BACKENDS)
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[DataMap, sa.Engine]]:
    url = sql_store_url(request, request.param, tmp_path / "crm.db")
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(customers), ROWS)
    yield parse_datamap("business: Acme\nstores:\n" + sql_store("${CRM_URL}", CUSTOMERS, name="crm"),
                        env={"CRM_URL": url}), engine  # fmt: skip
    engine.dispose()


def rows(engine: sa.Engine) -> dict[str, tuple[object, ...]]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(customers)).all()
    return {row.account: (row.city, bool(row.do_not_sell), bool(row.do_not_share), row.limits) for row in found}


def test_flags_reach_exactly_the_consumers_rows_on_every_dialect(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, engine = crm
    systems = SystemsOfRecord(datamap)
    state = ConsentState(sale_opt_out=True, share_opt_out=False, limit_sensitive=frozenset({"health"}))
    try:
        assert systems.set_flags({"account_id": "acct-1"}, state) == ["crm"]
        assert systems.set_flags({"email": "BOB@example.com"}, state) == ["crm"]
        assert systems.set_flags({"account_id": "acct-1"}, state) == ["crm"]  # the same state again
        assert systems.set_flags({"account_id": "acct-9"}, state) == []
    finally:
        systems.dispose()
    assert rows(engine) == {
        "acct-1": ("Fresno", True, False, "health"),
        "ACCT-1": ("Eureka", False, False, ""),  # a case-insensitive collation must not flag it too
        "acct-2": ("Chico", True, False, "health"),
    }


def test_correct_and_erase_write_through_the_adapter_on_every_dialect(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, engine = crm
    [(store, collection)] = datamap.systems_of_record()
    adapter = SqlConnector(datamap, store, read_only=False)
    try:
        with adapter.engine.begin() as conn:
            assert adapter.correct(conn, collection, "city", {"email": frozenset({"ann@example.com"})}, "Oakland") \
                == (1, 1)  # fmt: skip
        with adapter.engine.begin() as conn:
            table = adapter.table(conn, collection)
            adapter.erase(conn, table, ("n",), [(3,)], [((1,), {"city": "[deleted]"})])
    finally:
        adapter.close()
    assert {key: value[0] for key, value in rows(engine).items()} == {"acct-1": "[deleted]", "ACCT-1": "Eureka"}


def test_the_read_only_adapter_refuses_to_write(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, _ = crm
    [(store, collection)] = datamap.systems_of_record()
    adapter = SqlConnector(datamap, store)
    try:
        with pytest.raises(sa.exc.DBAPIError):
            adapter.flag(collection, {"account_id": frozenset({"acct-1"})}, {"do_not_sell": True})
    finally:
        adapter.close()


def test_sampling_lists_and_reads_the_tables(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, _ = crm
    adapter = SqlConnector(datamap, datamap.stores[0])
    try:
        sampling = adapter.sample(2)
        assert [table for _, table in sampling.tables()] == ["customers"]
        [sample] = list(sampling.samples())
    finally:
        adapter.close()
    assert sample.primary_key == ("n",) and len(sample.records) == 2 and "email" in sample.columns


REDIS_MAP = """
business: Acme
stores:
  - name: cache
    kind: redis
    url: ${REDIS_URL}
    collections:
      - {name: sessions, key_pattern: "${PREFIX}:session:{account_id}", fields: [{name: ip, category: F}]}
      - {name: prefs, key_pattern: "${PREFIX}:prefs:{account_id}", value_type: json,
         fields: [{name: email, identifies: email, category: A}, {name: account_id, identifies: account_id}]}
"""


@pytest.fixture
def cache(redis_url: str) -> Iterator[tuple[RedisConnector, redis.Redis, str]]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(redis_url)
    client.hset(f"{prefix}:session:17", mapping={"ip": "203.0.113.7", "csrf": "x"})
    client.set(f"{prefix}:prefs:17", json.dumps({"email": "ann@example.com"}), ex=3600)
    datamap = parse_datamap(REDIS_MAP, env={"REDIS_URL": redis_url, "PREFIX": prefix})
    adapter = RedisConnector(datamap, datamap.stores[0])
    yield adapter, client, prefix
    adapter.close()
    client.delete(*client.keys(f"{prefix}:*"))
    client.close()


def test_redis_fetch_erase_and_scan(cache: tuple[RedisConnector, redis.Redis, str]) -> None:
    adapter, client, prefix = cache
    sessions = adapter.store.collections[0]
    [(key, raw, _)] = list(adapter.fetch(sessions, [f"{prefix}:session:17", f"{prefix}:session:99"]))
    assert key == f"{prefix}:session:17" and raw == {"ip": "203.0.113.7", "csrf": "x"}
    assert sorted(adapter.identifier_values()) == [("account_id", "17"), ("account_id", "17")]
    adapter.erase([KeyWrite(f"{prefix}:session:17", "hdel", fields=("ip",)),
                   KeyWrite(f"{prefix}:prefs:17", "set", text=json.dumps({"email": None}))])  # fmt: skip
    assert client.hgetall(f"{prefix}:session:17") == {b"csrf": b"x"}
    assert json.loads(client.get(f"{prefix}:prefs:17") or "") == {"email": None}
    assert client.ttl(f"{prefix}:prefs:17") > 0  # the rewrite kept the key's TTL
    adapter.erase([KeyWrite(f"{prefix}:session:17", "del")])
    assert client.exists(f"{prefix}:session:17") == 0


def test_redis_sample_reads_types_and_values_within_the_limit(cache: tuple[RedisConnector, redis.Redis, str]) -> None:
    adapter, client, prefix = cache
    client.rpush(f"{prefix}:list", *[f"m{i}" for i in range(80)])
    sampled = [key for page in adapter.sample(1_000_000) for key in page if key.key.startswith(prefix.encode())]
    by_key = {key.key.decode(): key for key in sampled}
    assert by_key[f"{prefix}:session:17"].value_type == "hash"
    assert by_key[f"{prefix}:prefs:17"].value_type == "string"
    assert len(by_key[f"{prefix}:list"].reply) == 50  # bounded: MEMBERS_PER_KEY
    assert sum(len(page) for page in adapter.sample(2, page=1)) == 2
