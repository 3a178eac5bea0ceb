"""The PI scanner against real stores: SQLite or MariaDB, and PostgreSQL (every table and schema), Redis (SCAN,
hashes, JSON strings, PI in key names) and JSON-lines logs (rotated and gzipped). Planted unmapped PI is found,
decoys are not, and nothing sampled reaches the terminal, the JSON or the patch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
from tests.scanner_company import (
    DATAMAP,
    DECOYS,
    REDIS_DB,
    TRUTH,
    Planted,
    build_app,
    build_logs,
    build_postgres,
    build_redis,
)
from tests.support import sql_store_url

pytestmark = pytest.mark.integration


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
