"""The erasure engine against real stores: PostgreSQL and MariaDB (with FOREIGN KEY constraints) and SQLite, Redis,
and log files (rotated and gzipped). One subject is erased; the others are untouched; retention, holds, replay.
(The reapply after a restored backup: test_erasure_backups.py; the demo company: test_erasure_demo.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.datamap import EXEMPTIONS, DataMap, parse_datamap
from services.common.db import make_engine
from services.deletion.erasure import (
    ErasureEngine,
    ErasureJournal,
    Exemption,
    LegalHolds,
    create_erasure_tables,
    plan_erasure,
)
from tests.erasure_world import ANN, BOB, EXPECTED, KEYS, REQUEST, build_world, erase, hmac_of, state, without
from tests.support import SQL_BACKENDS, sql_store_url

pytestmark = pytest.mark.integration


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
