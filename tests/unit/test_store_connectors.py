"""Store connectors' pure rules: identifier extraction, type conversion, batching, locators (the walk:
test_store_walk.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from services.common.datamap import parse_datamap
from services.common.stores import FoundRecord, StoreConfigError, StoreUnavailable, identifiers_in, open_connector
from services.common.stores.http import HttpProviderConnector
from services.common.stores.redis_store import decoded_value, key_locator, pattern_keys
from services.common.stores.sql import column_value, failure_reason, row_locator, search_queries, sql_engine
from services.common.stores.values import (
    SKIP,
    batched,
    json_friendly,
    normalise_identifier,
    parse_timestamp,
    search_fields,
    searchable_kinds,
)
from tests.datamaps import SHOP_TABLES, sql_store

DATAMAP = parse_datamap(
    """
business: Acme
stores:
"""
    + sql_store("sqlite://", SHOP_TABLES, timeout_seconds=0.5)
    + """\
      - name: archive
        not_searched_reason: kept only for legal purposes
        fields:
          - {name: email, identifies: email, category: A}
  - name: cache
    kind: redis
    url: redis://127.0.0.1:1/0
    timeout_seconds: 0.5
    collections:
      - name: sessions
        key_pattern: "session:{account_id}"
        fields: [{name: ip, category: F}, {name: device, identifies: device_id, category: F}]
      - name: carts
        key_pattern: "cart:{account_id}:{device_id}"
        value_type: json
        fields: [{name: items, category: D}]
  - name: logs
    kind: jsonl
    timeout_seconds: 0.5
    collections:
      - name: access
        path: /nonexistent/access.log
        fields: [{name: email, identifies: email, category: A}, {name: path, category: F}]
  - name: mailer
    kind: http
    url: http://provider.invalid
    auth: {type: bearer, token_env: MAILER_TOKEN}
    timeout_seconds: 0.5
    collections:
      - name: contacts
        timestamp_field: created
        fields:
          - {name: email, identifies: email, category: A}
          - {name: phone, identifies: phone, category: A}
          - {name: created}
""",
    env={},
)
APP, CACHE, LOGS, MAILER = (DATAMAP.stores[i] for i in range(4))


def app_collection(name: str) -> Any:
    collection = APP.collection(name)
    assert collection is not None
    return collection


# identifiers ------------------------------------------------------------------------------------------------------


def test_identifiers_follow_references_and_normalise() -> None:
    records = [
        FoundRecord("app", "users", "users:id=#1", {"id": 17, "email": " Ann@Example.COM ", "name": "Ann"}),
        FoundRecord("app", "orders", "orders:id=5", {"id": 5, "user_id": 17, "total": "9.50"}),
        FoundRecord("app", "order_items", "order_items:order_id=5,line=1", {"order_id": 5, "line": 1, "sku": "X"}),
        FoundRecord("app", "unknown", "unknown:1", {"email": "ignored@example.com"}),
    ]
    assert identifiers_in(DATAMAP, APP, records) == {
        "account_id": frozenset({"17"}),
        "email": frozenset({"ann@example.com"}),
        "order_id": frozenset({"5"}),
    }


def test_identifier_normal_forms() -> None:
    assert normalise_identifier("email", "A@B.Example") == "a@b.example"
    assert normalise_identifier("phone", "(415) 555-0100") == "+14155550100"
    assert normalise_identifier("phone", "not a phone") == "not a phone"
    assert normalise_identifier("account_id", 42.0) == "42"
    for nothing in (None, "", "  ", True, b"x", {"a": 1}):
        assert normalise_identifier("account_id", nothing) is None


def test_searchable_kinds_skip_collections_not_searched() -> None:
    assert searchable_kinds(DATAMAP, APP) == {"account_id", "email", "order_id"}
    assert searchable_kinds(DATAMAP, CACHE) == {"account_id", "device_id"}
    fields = search_fields(DATAMAP, APP, app_collection("orders"), {"account_id": frozenset({"2", "10"})})
    assert [(f.field.name, f.kind, f.values) for f in fields] == [("user_id", "account_id", ("10", "2"))]


# values -----------------------------------------------------------------------------------------------------------


def test_values_are_json_friendly() -> None:
    naive = datetime(2024, 5, 1, 12, 0)
    assert json_friendly(naive) == naive.replace(tzinfo=UTC)
    assert json_friendly(datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))).hour == 12
    assert json_friendly(Decimal("9.50")) == "9.50"
    assert json_friendly(date(2024, 5, 1)) == "2024-05-01"
    assert json_friendly(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert json_friendly(b"\x00") is SKIP
    assert json_friendly({"a": [b"x", 1]}) == {"a": [1]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01 12:00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        (1714564800, datetime(2024, 5, 1, 12, tzinfo=UTC)),
        (1714564800000, datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("1714564800.5", datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
        (date(2024, 5, 1), datetime(2024, 5, 1, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        (True, None),
    ],
)
def test_timestamps_parse_to_aware_utc(raw: Any, expected: datetime | None) -> None:
    assert parse_timestamp(raw) == expected


def test_batches_never_exceed_the_size() -> None:
    assert [len(batch) for batch in batched(list(range(1201)), 500)] == [500, 500, 201]
    assert list(batched([], 500)) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(batched([1], 0))


# sql --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column_type", "raw", "expected"),
    [
        (sa.Integer(), "17", 17),
        (sa.BigInteger(), "9223372036854775807", 2**63 - 1),
        (sa.Integer(), "9223372036854775808", None),
        (sa.Integer(), "1; DROP TABLE users", None),
        (sa.Integer(), "x' OR '1'='1", None),
        (sa.Integer(), "-1", None),
        (sa.Integer(), "١٢", None),  # Arabic-Indic digits are not an id
        (sa.String(), "x' OR '1'='1", "x' OR '1'='1"),
        (sa.Uuid(), "00000000-0000-0000-0000-000000000001", uuid.UUID(int=1)),
        (sa.Uuid(as_uuid=False), "00000000000000000000000000000001", "00000000-0000-0000-0000-000000000001"),
        (sa.Uuid(), "not-a-uuid", None),
        (sa.DateTime(), "2024-01-01", None),
    ],
)
def test_identifiers_convert_to_the_column_type(column_type: Any, raw: str, expected: Any) -> None:
    assert column_value(column_type, raw) == expected


@pytest.mark.parametrize(
    ("url", "driver"),
    [("postgresql://u:p@db/app", "psycopg"), ("mysql://u:p@db/app", "pymysql"), ("mariadb://u:p@db/app", "pymysql"),
     ("sqlite://", "pysqlite")],
)  # fmt: skip
def test_engines_pick_an_installed_driver_without_connecting(url: str, driver: str) -> None:
    engine = sql_engine(url, 2.5)
    assert engine.dialect.driver == driver
    assert "p@" not in repr(engine.url)
    engine.dispose()


def users_table() -> sa.Table:
    return sa.Table("users", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("email", sa.String(200)), sa.Column("name", sa.String(100)))  # fmt: skip


@pytest.mark.parametrize("dialect_module", [postgresql, sqlite, mysql])
def test_queries_bind_values_in_batches(dialect_module: Any) -> None:
    dialect = dialect_module.dialect()
    table = users_table()
    emails = frozenset({f"u{i}@example.com" for i in range(1001)} | {"x' OR '1'='1"})
    [target] = search_fields(DATAMAP, APP, app_collection("users"), {"email": emails})
    queries = list(search_queries(table, list(table.c), target))
    assert len(queries) == 3
    for query in queries:
        compiled = query.compile(dialect=dialect)
        assert "example.com" not in str(compiled) and "OR '1'" not in str(compiled)
        assert "lower(" in str(compiled).lower()
    params = [query.compile(dialect=dialect).params for query in queries]
    assert sum(len(next(iter(p.values()))) for p in params) == 1002


def test_integer_column_drops_values_that_are_not_ids() -> None:
    table = users_table()
    [target] = search_fields(DATAMAP, APP, app_collection("users"),
                             {"account_id": frozenset({"7", "1; DROP TABLE users", "x' OR '1'='1"})})  # fmt: skip
    [query] = search_queries(table, list(table.c), target)
    assert list(query.compile().params.values()) == [[7]]
    [nothing] = search_fields(DATAMAP, APP, app_collection("users"), {"account_id": frozenset({"abc"})})
    assert list(search_queries(table, list(table.c), nothing)) == []


def test_row_locator_hashes_identifying_keys_only() -> None:
    users = row_locator(DATAMAP, APP, app_collection("users"), ("id",), {"id": 17, "email": "a@example.com"})
    prefix, digest = users.split("#")
    assert prefix == "users:id=" and len(digest) == 16
    orders = row_locator(DATAMAP, APP, app_collection("orders"), ("id",), {"id": 5})
    assert orders.startswith("orders:id=#")  # orders.id identifies order_id
    items = row_locator(DATAMAP, APP, app_collection("order_items"), ("order_id", "line"), {"order_id": 5, "line": 2})
    assert items.startswith("order_items:order_id=#") and items.endswith(",line=2")
    keyless = row_locator(DATAMAP, APP, app_collection("users"), (), {"id": 17, "email": "a@example.com"})
    assert keyless.startswith("users:row=#") and "example" not in keyless


# redis ------------------------------------------------------------------------------------------------------------


def test_redis_keys_from_patterns() -> None:
    sessions, carts = CACHE.collections
    assert pattern_keys(sessions, {"account_id": frozenset({"2", "1"})}) == ["session:1", "session:2"]
    assert pattern_keys(sessions, {"account_id": frozenset({"a*", "b?", "[c]", "d\ne", ""})}) == []
    assert pattern_keys(carts, {"account_id": frozenset({"1"})}) == []  # needs every kind
    assert pattern_keys(carts, {"account_id": frozenset({"1", "2"}), "device_id": frozenset({"d"})}) == [
        "cart:1:d",
        "cart:2:d",
    ]
    many = {"account_id": frozenset(map(str, range(100))), "device_id": frozenset(map(str, range(100)))}
    assert len(pattern_keys(carts, many, cap=1000)) == 1000


def test_redis_locator_and_values() -> None:
    sessions, carts = CACHE.collections
    locator = key_locator(sessions, "session:17")
    assert locator.startswith("session:{account_id}#") and "17" not in locator.split("#")[0]
    assert decoded_value(carts, b'{"items": [1, 2]}') == {"items": [1, 2]}
    assert decoded_value(carts, b"not json") == {"value": "not json"}
    assert decoded_value(carts, b"\xff\xfe") == {}


# http -------------------------------------------------------------------------------------------------------------


def provider(handler: Any, env: Mapping[str, str] | None = None) -> HttpProviderConnector:
    return HttpProviderConnector(DATAMAP, MAILER, env or {"MAILER_TOKEN": "t0ken"}, httpx.MockTransport(handler))


def test_provider_request_and_filtering() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"records": [
            {"collection": "contacts", "locator": "c-1", "occurred_at": "2024-05-01T12:00:00Z",
             "values": {"email": "a@example.com", "secret_score": 3}},
            {"collection": "contacts", "locator": "a@example.com", "values": {"created": 1714564800}},
            {"collection": "billing", "locator": "b-1", "values": {}},
        ]})  # fmt: skip

    records = provider(handler).search({"email": frozenset({"a@example.com"}), "order_id": frozenset({"9"})})
    assert seen[0].url.path == "/privacy/v1/access"
    assert seen[0].headers["authorization"] == "Bearer t0ken"
    assert seen[0].read() == b'{"identifiers":{"email":["a@example.com"]}}'
    assert (records[0].collection, records[0].locator, records[0].values) == (
        "contacts",
        "c-1",
        {"email": "a@example.com"},
    )
    assert records[0].occurred_at == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert records[1].locator.startswith("#") and records[1].occurred_at == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert len(records) == 2


def test_provider_not_asked_without_values_it_can_search() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    assert provider(handler).search({"account_id": frozenset({"1"})}) == []


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx.Response(401), "HTTP 401"),
        (httpx.Response(403), "HTTP 403"),
        (httpx.Response(503), "HTTP 503"),
        (httpx.Response(200, text="<html>"), "malformed response: not JSON"),
        (httpx.Response(200, json={"rows": []}), "malformed response: records: Field required"),
        (httpx.Response(200, json={"records": [{"collection": "contacts", "values": {"email": "a@example.com"}}]}),
         "malformed response: records.0.locator"),
    ],
)  # fmt: skip
def test_provider_failures_are_unavailable(response: httpx.Response, reason: str) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        provider(lambda _: response).search({"email": frozenset({"a@example.com"})})
    assert caught.value.reason.startswith(reason)
    assert "a@example.com" not in str(caught.value)


def test_provider_connection_errors_are_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(StoreUnavailable, match="request failed"):
        provider(refuse).search({"email": frozenset({"a@example.com"})})


def test_missing_token_variable_is_named() -> None:
    with pytest.raises(StoreConfigError, match="MAILER_TOKEN"):
        open_connector(DATAMAP, MAILER, env={})


def test_a_sql_failure_reason_keeps_the_first_line_and_masks_personal_information() -> None:
    class IntegrityError(Exception):
        pass

    mysql = IntegrityError(1062, "Duplicate entry 'ann@example.com' for key 'email'")
    reason = failure_reason(sa.exc.IntegrityError("UPDATE members SET …", {"email": "x"}, mysql))
    assert reason == "IntegrityError: (1062, \"Duplicate entry '[email]' for key 'email'\")"
    postgres = IntegrityError('duplicate key value violates unique constraint "members_phone_key"\n'
                              "DETAIL:  Key (phone)=(+14155550134) already exists.")  # fmt: skip
    reason = failure_reason(sa.exc.IntegrityError("UPDATE …", {}, postgres))
    assert reason == 'IntegrityError: duplicate key value violates unique constraint "members_phone_key"'
    phone = failure_reason(sa.exc.DataError("SELECT …", {}, IntegrityError("bad value (415) 555-0134 here")))
    assert "555" not in phone and "[phone]" in phone
