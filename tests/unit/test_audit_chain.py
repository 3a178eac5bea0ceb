"""The audit hash chain: each kind of tampering with a copy of the database is caught and named, a re-computed
chain is caught by the signed checkpoint, and any arrival order gives the same links."""

from __future__ import annotations

import base64
import random
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import checkpoints, orm
from services.audit.chain import GENESIS, canonical_entry, link
from services.audit.migrations import SCHEMA
from services.audit.verify import Verdict, verify
from services.common.db import make_engine
from services.common.migrations import upgrade
from tests.unit.test_audit_handlers import CORRECT_ID, STREAM, apply

KEY = Ed25519PrivateKey.from_private_bytes(b"s" * 32)
PUBLIC = checkpoints.public_key_bytes(KEY.public_key())
t = orm.timeline


def event_id(event_type: str, request_id: str = CORRECT_ID) -> str:
    return next(e.event_id for e, _ in STREAM if e.event_type == event_type and e.request_id == request_id)


FAILED, EXTENDED, DENIED = (event_id(kind) for kind in ("RequestFailed", "RequestExtended", "RequestDenied"))


def engine_at(path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(SCHEMA, engine)
    return engine


@pytest.fixture
def original(tmp_path: Path) -> Iterator[Path]:
    """An audit database built from the stream and checkpointed."""
    path = tmp_path / "audit.db"
    engine = engine_at(path)
    apply(engine, STREAM)
    with engine.begin() as conn:
        checkpoints.take(conn, KEY, datetime(2027, 3, 1, tzinfo=UTC))
    engine.dispose()
    yield path


@pytest.fixture
def copy(original: Path, tmp_path: Path) -> Iterator[sa.Engine]:
    path = tmp_path / "copy.db"
    shutil.copy(original, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def row(engine: sa.Engine, event: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(t).where(t.c.event_id == event)).mappings().one())


def tamper(engine: sa.Engine, statement: Any) -> Verdict:
    with engine.begin() as conn:
        conn.execute(statement)
    return verify(engine, PUBLIC)


def test_the_untouched_database_is_intact(copy: sa.Engine) -> None:
    verdict = verify(copy, PUBLIC)
    assert verdict.intact, verdict.problems
    assert (verdict.entries, verdict.checkpoints, verdict.uncovered) == (len(STREAM), 1, 0)


def test_an_edited_entry_is_named(copy: sa.Engine) -> None:
    details = {**row(copy, EXTENDED)["details"], "reason": "no reason at all"}
    verdict = tamper(copy, sa.update(t).where(t.c.event_id == EXTENDED).values(details=details))
    assert not verdict.intact
    assert f"request chain {CORRECT_ID}: entry {EXTENDED} was edited (after entry {FAILED})" in verdict.problems


def test_a_deleted_entry_is_named_by_its_neighbours(copy: sa.Engine) -> None:
    verdict = tamper(copy, sa.delete(t).where(t.c.event_id == EXTENDED))
    assert f"request chain {CORRECT_ID}: an entry was deleted after entry {FAILED}, before entry {DENIED}" in \
        verdict.problems  # fmt: skip


def test_an_inserted_entry_is_named(copy: sa.Engine) -> None:
    forged = {**row(copy, EXTENDED), "event_id": "f0000000-0000-4000-8000-00000000000f", "offset": 900,
              "occurred_at": row(copy, FAILED)["occurred_at"] + timedelta(minutes=1)}  # fmt: skip
    verdict = tamper(copy, sa.insert(t).values(forged))
    assert f"request chain {CORRECT_ID}: entry {forged['event_id']} was inserted (after entry {FAILED})" in \
        verdict.problems  # fmt: skip


def test_an_inserted_entry_with_forged_links_is_named(copy: sa.Engine) -> None:
    failed = row(copy, FAILED)
    forged = {**row(copy, EXTENDED), "event_id": "f0000000-0000-4000-8000-00000000000f", "offset": 900,
              "occurred_at": failed["occurred_at"] + timedelta(minutes=1)}  # fmt: skip
    forged |= {"request_prev": failed["request_hash"], "request_hash": link(failed["request_hash"],
                                                                             canonical_entry(forged))}  # fmt: skip
    verdict = tamper(copy, sa.insert(t).values(forged))
    assert f"request chain {CORRECT_ID}: entry {forged['event_id']} was inserted (after entry {FAILED})" in \
        verdict.problems  # fmt: skip


def test_reordered_entries_are_named(copy: sa.Engine) -> None:
    extended, denied = row(copy, EXTENDED), row(copy, DENIED)
    with copy.begin() as conn:
        conn.execute(sa.update(t).where(t.c.event_id == EXTENDED).values(occurred_at=denied["occurred_at"]))
    verdict = tamper(copy, sa.update(t).where(t.c.event_id == DENIED).values(occurred_at=extended["occurred_at"]))
    assert f"request chain {CORRECT_ID}: entry {DENIED} was reordered (after entry {FAILED})" in verdict.problems


def test_a_chain_recomputed_after_an_edit_is_caught_by_the_checkpoint(copy: sa.Engine) -> None:
    with copy.begin() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.topic, t.c.partition, t.c.offset)).mappings().all()
        running: dict[tuple[str, int], str] = {}
        for entry in rows:
            entry = {**entry, "details": {"forged": True}} if entry["event_id"] == EXTENDED else dict(entry)
            previous = running.get((entry["topic"], entry["partition"]), GENESIS)
            own = link(previous, canonical_entry(entry))
            running[(entry["topic"], entry["partition"])] = own
            conn.execute(sa.update(t).where(t.c.event_id == entry["event_id"])
                         .values(details=entry["details"], source_prev=previous, source_hash=own))  # fmt: skip
    problems = verify(copy, PUBLIC).problems
    assert any("the head checkpoint 1 signed at offset" in problem and "changed" in problem for problem in problems)


def test_a_forged_checkpoint_signature_is_caught(copy: sa.Engine) -> None:
    forged = base64.b64encode(Ed25519PrivateKey.generate().sign(b"other")).decode()
    verdict = tamper(copy, sa.update(orm.checkpoints).values(signature=forged))
    assert "checkpoint 1: its signature does not hold under audit's public key" in verdict.problems


def test_a_deleted_checkpoint_is_caught(copy: sa.Engine) -> None:
    event, delivery = STREAM[0]
    later = replace(event, event_id="e0000000-0000-4000-8000-000000000001")
    apply(copy, [(later, replace(delivery, offset=999))])
    with copy.begin() as conn:
        checkpoints.take(conn, KEY, datetime(2027, 3, 2, tzinfo=UTC))
    verdict = tamper(copy, sa.delete(orm.checkpoints).where(orm.checkpoints.c.sequence == 1))
    assert "checkpoint 2: checkpoint 1 is missing" in verdict.problems


def test_a_checkpoint_names_nothing_new_when_no_head_moved(copy: sa.Engine) -> None:
    with copy.begin() as conn:
        assert checkpoints.take(conn, KEY, datetime(2027, 3, 2, tzinfo=UTC)) is None


def links(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        columns = (t.c.event_id, t.c.source_prev, t.c.source_hash, t.c.request_prev, t.c.request_hash)
        return [tuple(r) for r in conn.execute(sa.select(*columns).order_by(t.c.event_id))]


def test_every_arrival_order_gives_the_same_links_and_heads(tmp_path: Path) -> None:
    orders = [STREAM, list(reversed(STREAM))] + [random.Random(seed).sample(STREAM, len(STREAM)) for seed in range(8)]
    seen = set()
    for number, order in enumerate(orders):
        engine = engine_at(tmp_path / f"order-{number}.db")
        apply(engine, order)
        with engine.connect() as conn:
            heads = (checkpoints.source_heads(conn), checkpoints.request_heads(conn))
        seen.add(repr((links(engine), heads)))
        assert verify(engine, PUBLIC).intact
        engine.dispose()
    assert len(seen) == 1


def test_a_migrated_timeline_gets_the_links_a_new_one_would(tmp_path: Path) -> None:
    live = engine_at(tmp_path / "live.db")
    apply(live, STREAM)
    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(SCHEMA, old, "0001")
    with live.connect() as source, old.begin() as target:
        columns = [c for c in t.c if not c.name.endswith(("_prev", "_hash"))]
        rows = source.execute(sa.select(*columns)).mappings().all()
        before = sa.Table("timeline_entries", sa.MetaData(), autoload_with=target)
        target.execute(sa.insert(before), [dict(r) for r in rows])
    upgrade(SCHEMA, old)
    assert links(old) == links(live)
