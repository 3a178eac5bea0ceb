"""24-month retention: which requests a purge removes, the gaps it leaves, and verify accepting exactly the gaps a
signed purge statement covers (and still naming a deletion no statement covers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from typer.testing import CliRunner

from services.audit import checkpoints, gaps, handlers, orm, purge, queries, retention, snapshots, tallies
from services.audit.chain import GENESIS, Linked, Tampering, canonical_entry, link
from services.audit.settings import AuditSettings
from services.audit.snapshotter import changed_keys, forget, publish_changes
from services.audit.verify import verify
from services.cli import app
from services.common.consumer import Delivery
from services.common.events import Event
from services.common.inbox import claim
from services.common.kafka import EventProducer, OutgoingMessage
from services.common.settings import refused_settings
from tests.retention_world import (
    OLD_SIGNAL,
    RECEIVED_23_MONTHS_AGO,
    RECENT_SIGNAL,
    delivered,
    kept_request_ids,
    old_events,
    purged_request_ids,
    recent_events,
    signal,
)
from tests.unit.test_audit_chain import KEY, PUBLIC, engine_at
from tests.unit.test_audit_handlers import apply
from tests.unit.test_production_settings import CLEAN

# The purge's clock: 25 months and more after the old requests, 23 months after the one that must survive.
NOW = datetime(2029, 3, 1, 12, 0, tzinfo=UTC)
RETENTION = 731
t = orm.timeline
OLD_SIGNAL_ID = signal(*OLD_SIGNAL, NOW).event_id


def age(request_id: str, responded: bool, days: float) -> retention.RequestAge:
    return retention.RequestAge(request_id, NOW - timedelta(days=days + 1) if responded else None,
                                NOW - timedelta(days=days))  # fmt: skip


def test_a_purge_selects_closed_requests_whose_last_entry_is_past_retention() -> None:
    cutoff = retention.cutoff(NOW, RETENTION)
    requests = [age("closed-25-months", True, 761), age("open-25-months", False, 761),
                age("closed-23-months", True, 700), age("closed-on-the-day", True, RETENTION),
                age("closed-a-second-past", True, RETENTION + 1 / 86400)]  # fmt: skip
    assert retention.purgeable(requests, cutoff) == ["closed-25-months", "closed-a-second-past"]


def chain_of(count: int) -> list[Linked]:
    linked, previous = [], GENESIS
    for offset in range(count):
        entry = {"event_id": f"e{offset}", "request_id": None, "subject_key": "k", "event_type": "ConsentChanged",
                 "occurred_at": "2027-01-01T00:00:00.000000+00:00", "producer": "p", "topic": "t", "partition": 0,
                 "offset": offset, "details": {}}  # fmt: skip
        here = link(previous, canonical_entry(entry))
        linked.append(Linked(entry, previous, here))
        previous = here
    return linked


def statements_for(chain: list[Linked], purged: set[str]) -> list[dict[str, Any]]:
    places = [retention.SourceLink(c.event_id, int(c.entry["offset"]), c.previous, c.hash) for c in chain]
    return [retention.source_statement("t", 0, gap, "now") for gap in retention.gaps(places, purged)]


def without(chain: list[Linked], removed: set[str]) -> list[Linked]:
    return [linked for linked in chain if linked.event_id not in removed]


def test_gaps_are_the_runs_of_adjacent_purged_entries() -> None:
    chain = chain_of(8)
    places = [retention.SourceLink(c.event_id, int(c.entry["offset"]), c.previous, c.hash) for c in chain]
    found = retention.gaps(places, {"e0", "e1", "e4", "e5", "e6"})
    assert [(g.first_offset, g.last_offset, g.entries) for g in found] == [(0, 1, 2), (4, 6, 3)]
    assert (found[0].before, found[0].last) == (GENESIS, chain[1].hash)
    assert (found[1].before, found[1].last) == (chain[3].hash, chain[6].hash)


def test_a_gap_a_statement_covers_is_accepted_at_the_start_in_the_middle_and_gap_after_gap() -> None:
    chain = chain_of(10)
    purged = {"e0", "e1", "e4", "e5"}
    assert gaps.first_unbridged_break(without(chain, purged), statements_for(chain, purged)) is None
    later = {"e6"}  # a second purge next to the first gap: the two statements bridge it together
    both = statements_for(chain, purged) + statements_for(without(chain, purged), later)
    assert gaps.first_unbridged_break(without(chain, purged | later), both) is None


def test_a_deletion_no_statement_covers_is_still_named() -> None:
    chain = chain_of(10)
    purged = {"e2", "e3"}
    statements = statements_for(chain, purged)
    deleted_elsewhere = gaps.first_unbridged_break(without(chain, purged | {"e7"}), statements)
    assert deleted_elsewhere is not None and deleted_elsewhere.kind is Tampering.DELETED
    assert (deleted_elsewhere.event_id, deleted_elsewhere.after) == ("e8", "e6")
    next_to_the_gap = gaps.first_unbridged_break(without(chain, purged | {"e4"}), statements)
    assert next_to_the_gap is not None and next_to_the_gap.kind is Tampering.DELETED
    assert (next_to_the_gap.event_id, next_to_the_gap.after) == ("e5", "e1")
    assert gaps.first_unbridged_break(without(chain, purged), []) is not None  # no statement, no pardon


def test_an_edit_after_a_bridged_gap_is_named_after_the_last_kept_entry() -> None:
    chain = chain_of(6)
    purged = {"e1", "e2"}
    kept = without(chain, purged)
    edited = Linked({**kept[1].entry, "event_type": "Forged"}, kept[1].previous, kept[1].hash)
    broken = gaps.first_unbridged_break([kept[0], edited, *kept[2:]], statements_for(chain, purged))
    assert broken is not None and (broken.kind, broken.event_id, broken.after) == (Tampering.EDITED, "e3", "e0")


def test_a_retention_under_24_months_is_refused_naming_the_setting_and_the_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in CLEAN.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CCPA_AUDIT_RETENTION_DAYS", raising=False)
    assert AuditSettings().retention_days == 731
    monkeypatch.setenv("CCPA_AUDIT_RETENTION_DAYS", "729")
    with pytest.raises(ValidationError) as refused:
        AuditSettings()
    assert refused_settings("audit", AuditSettings, refused.value).splitlines()[1:] == [
        "  - CCPA_AUDIT_RETENTION_DAYS: CCPA_AUDIT_RETENTION_DAYS must be at least 730 days: §7101 requires the "
        "records for at least 24 months"]  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> Iterator[sa.Engine]:
    """An audit database holding requests of every age, checkpointed."""
    engine = engine_at(tmp_path / "audit.db")
    apply(engine, delivered(old_events(NOW) + recent_events(NOW)))
    with engine.begin() as conn:
        checkpoints.take(conn, KEY, NOW - timedelta(days=1))
    yield engine
    engine.dispose()


def request_ids(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(t.c.request_id).where(t.c.request_id.is_not(None))).scalars())


def test_the_purge_removes_exactly_the_old_closed_requests_and_verify_stays_intact(world: sa.Engine) -> None:
    with world.begin() as conn:
        purged = purge.purge(conn, KEY, NOW, RETENTION)
    assert request_ids(world) == kept_request_ids()
    assert RECEIVED_23_MONTHS_AGO.request_id in request_ids(world)
    assert (purged.requests, purged.entries) == (2, 5)  # two requests of two entries, one old device signal
    assert sorted(purged.keys) == sorted([snapshots.entry_key(OLD_SIGNAL_ID),
                                          *(snapshots.request_key(r) for r in purged_request_ids())])  # fmt: skip
    with world.connect() as conn:
        records = set(conn.execute(sa.select(orm.request_records.c.request_id)).scalars())
        statements = [json.loads(b) for b in conn.execute(sa.select(orm.chain_purges.c.body)).scalars()]
    assert records == kept_request_ids() and not records & purged_request_ids()
    # requests: gaps at offsets 0 and 2; deletion results: 0-1; consent: 0; and the two request chains
    assert sorted((s["chain"], s.get("topic", ""), s.get("first_offset", -1)) for s in statements) == [
        ("request", "", -1), ("request", "", -1), ("source", "privacy.consent.changes", 0),
        ("source", "privacy.deletion.results", 0), ("source", "privacy.requests", 0),
        ("source", "privacy.requests", 2)]  # fmt: skip
    verdict = verify(world, PUBLIC)
    assert verdict.intact, verdict.problems
    with world.begin() as conn:  # the next checkpoint signs the heads after the purge
        checkpoints.take(conn, KEY, NOW)
    assert verify(world, PUBLIC).intact


def test_a_deletion_beside_a_purge_or_a_forged_statement_is_still_caught(world: sa.Engine) -> None:
    with world.begin() as conn:
        purge.purge(conn, KEY, NOW, RETENTION)
        conn.execute(sa.delete(t).where(t.c.request_id == RECEIVED_23_MONTHS_AGO.request_id))
    problems = verify(world, PUBLIC).problems
    assert any("privacy.requests[0]: an entry was deleted" in p for p in problems), problems
    assert any(f"request chain {RECEIVED_23_MONTHS_AGO.request_id}: checkpoint 1" in p for p in problems), problems
    with world.begin() as conn:
        conn.execute(sa.update(orm.chain_purges).values(signature="AAAA"))
    assert any("purge statement" in p and "its signature holds under none" in p for p in verify(world, PUBLIC).problems)


def test_a_purge_after_the_first_changes_nothing(world: sa.Engine) -> None:
    with world.begin() as conn:
        purge.purge(conn, KEY, NOW, RETENTION)
    before = queries.snapshot(world)
    with world.begin() as conn:
        assert purge.purge(conn, KEY, NOW + timedelta(hours=1), RETENTION).entries == 0
    assert queries.snapshot(world) == before


def test_snapshot_values_restore_the_rows_verbatim(world: sa.Engine, tmp_path: Path) -> None:
    with world.begin() as conn:
        purge.purge(conn, KEY, NOW, RETENTION)
    with world.connect() as conn:
        built = snapshots.build(conn, changed_keys(conn, None))
        values = [snapshots.Snapshot.model_validate_json(value.encode()) for value in built]
    restored = engine_at(tmp_path / "restored.db")
    with restored.begin() as conn:
        for value in values:
            snapshots.restore(conn, value, "audit-rebuild")
    assert queries.snapshot(restored) == queries.snapshot(world)
    assert queries.chain_heads(restored) == queries.chain_heads(world)
    with restored.begin() as conn:
        checkpoints.take(conn, KEY, NOW)
    assert verify(restored, PUBLIC).intact
    restored.dispose()


def test_the_snapshot_model_holds_every_column_of_its_tables() -> None:
    """A column added to a table must reach the snapshot (and its format version), or a rebuild would lose it."""
    assert set(snapshots.EntryRow.model_fields) == set(orm.timeline.c.keys())
    assert set(snapshots.RecordRow.model_fields) == set(orm.request_records.c.keys())
    assert set(snapshots.PurgeRow.model_fields) == set(orm.chain_purges.c.keys())


@pytest.mark.parametrize(("given", "told"), [("yesterday", "must be an ISO 8601 instant"),
                                             ("2029-03-01T12:00:00", "must name its offset from UTC")])  # fmt: skip
def test_purge_and_rebuild_refuse_a_clock_they_cannot_read(given: str, told: str, tmp_path: Path) -> None:
    for command in (["audit", "purge"], ["audit", "rebuild", "--database-url", f"sqlite:///{tmp_path}/a.db"]):
        result = CliRunner().invoke(app, [*command, "--now", given])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"--now {told}" in result.output


def test_heads_a_checkpoint_signed_before_the_purge_may_be_gone_when_a_statement_covers_them(tmp_path: Path) -> None:
    """Checkpoint 1 signed the old entries' heads (source and request); the purge removes them after it."""
    engine = engine_at(tmp_path / "audit.db")
    old, recent = delivered(old_events(NOW) + recent_events(NOW)), len(recent_events(NOW))
    apply(engine, old[:-recent])
    with engine.begin() as conn:
        signed = checkpoints.take(conn, KEY, NOW - timedelta(days=2))
    assert signed is not None and {h["request_id"] for h in signed.body["requests"]} >= purged_request_ids()
    apply(engine, old[-recent:])
    with engine.begin() as conn:
        checkpoints.take(conn, KEY, NOW - timedelta(days=1))
        purge.purge(conn, KEY, NOW, RETENTION)
    verdict = verify(engine, PUBLIC)
    assert verdict.intact, verdict.problems
    with engine.begin() as conn:  # without the statements, the same state is a deletion
        conn.execute(sa.delete(orm.chain_purges))
    problems = verify(engine, PUBLIC).problems
    assert any("the head checkpoint 1 signed at offset" in p and "is gone" in p for p in problems), problems
    assert any("are all gone, with no purge statement" in p for p in problems), problems
    engine.dispose()


class Topic:
    """Stands in for the producer: what each round published, by key."""

    def __init__(self) -> None:
        self.rounds: list[dict[str, bytes | None]] = []

    def send_all(self, messages: list[OutgoingMessage]) -> None:
        self.rounds.append({(m.key or b"").decode(): m.value for m in messages})


def consumed(engine: sa.Engine, deliveries: list[tuple[Event, Delivery]]) -> None:
    """As the consumer applies events: the inbox claim and the handler in one transaction."""
    for event, delivery in deliveries:
        with engine.begin() as conn:
            if claim(conn, orm.inbox, "ccpa-audit", event.event_id):
                handlers.handle(event, conn, delivery)


def test_each_round_publishes_only_the_keys_whose_rows_changed(tmp_path: Path) -> None:
    engine, topic = engine_at(tmp_path / "audit.db"), Topic()
    producer = cast(EventProducer, topic)
    world = delivered(old_events(NOW) + recent_events(NOW))
    late = next(d for d in world if d[0].event_type == "ConsentChanged")  # the old device signal, offset 0
    consumed(engine, [d for d in world if d is not late])
    for _ in range(2):
        publish_changes(engine, producer, "snapshots", datetime.now(UTC))
    with engine.connect() as conn:
        every_key = changed_keys(conn, None)
    assert set(topic.rounds[0]) == every_key and topic.rounds[1] == {}
    consumed(engine, [late])  # arrives after the recent signal on its partition: that one is re-linked
    publish_changes(engine, producer, "snapshots", datetime.now(UTC))
    recent_signal = signal(*RECENT_SIGNAL, NOW).event_id
    assert set(topic.rounds[2]) == {snapshots.entry_key(OLD_SIGNAL_ID), snapshots.entry_key(recent_signal)}
    forget(producer, "snapshots", [snapshots.entry_key(OLD_SIGNAL_ID)])
    assert topic.rounds[3] == {snapshots.entry_key(OLD_SIGNAL_ID): None}
    engine.dispose()


def test_a_purge_statement_signed_before_a_key_rotation_still_verifies_under_the_retired_key(world: sa.Engine) -> None:
    with world.begin() as conn:
        purge.purge(conn, KEY, NOW, RETENTION)
    successor = Ed25519PrivateKey.generate()
    current_only = checkpoints.key_ring([checkpoints.public_key_bytes(successor.public_key())])
    problems = verify(world, current_only).problems
    assert any("purge statement" in p and "its signature holds under none" in p for p in problems), problems
    with_retired = checkpoints.key_ring([checkpoints.public_key_bytes(successor.public_key()), PUBLIC])
    assert not [p for p in verify(world, with_retired).problems if "purge statement" in p]


def test_the_purge_takes_the_deadline_clocks_of_the_purged_requests_with_them(world: sa.Engine) -> None:
    clocks = orm.deadline_clocks

    def clocked() -> set[str]:
        with world.connect() as conn:
            return set(conn.execute(sa.select(clocks.c.request_id).where(clocks.c.request_id.is_not(None))).scalars())

    assert purged_request_ids() <= clocked()
    with world.begin() as conn:
        purge.purge(conn, KEY, NOW, RETENTION)
    assert not clocked() & purged_request_ids() and RECEIVED_23_MONTHS_AGO.request_id in clocked()


def test_a_purge_statement_dated_before_the_last_round_is_still_published(world: sa.Engine) -> None:
    """`ccpa audit purge --now` an hour back signs statements dated before the snapshotter's last round."""
    with world.begin() as conn:
        purge.purge(conn, KEY, NOW - timedelta(hours=1), RETENTION)
        digests = set(conn.execute(sa.select(orm.chain_purges.c.digest)).scalars())
    with world.connect() as conn:
        assert {snapshots.purge_key(d) for d in digests} <= changed_keys(conn, NOW)


def answered_tally_and_count(engine: sa.Engine) -> tuple[int, int]:
    records = orm.request_records.c
    with engine.connect() as conn:
        counted = conn.execute(sa.select(sa.func.count()).where(records.answered.is_(True),
                                                                records.due_at.is_not(None))).scalar_one()  # fmt: skip
        return tallies.answered(conn, None, None), int(counted)


def test_the_queue_tallies_stay_a_count_of_the_records_through_a_purge_and_a_restore(
    world: sa.Engine, tmp_path: Path
) -> None:
    tally, counted = answered_tally_and_count(world)
    assert tally == counted and counted > 0
    with world.begin() as conn:
        purge.purge(conn, KEY, NOW, RETENTION)
    tally_after, counted_after = answered_tally_and_count(world)
    assert tally_after == counted_after < counted
    with world.connect() as conn:
        values = list(snapshots.build(conn, changed_keys(conn, None)))
    restored = engine_at(tmp_path / "restored.db")
    with restored.begin() as conn:
        for value in values * 2:  # a value restored twice is counted once
            snapshots.restore(conn, value, "audit-rebuild")
    assert answered_tally_and_count(restored) == (counted_after, counted_after)
    restored.dispose()
