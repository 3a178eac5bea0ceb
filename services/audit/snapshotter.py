"""The snapshotter: every round, publishes to the compacted snapshot topic the keys whose rows changed since its
last round; once a day it purges what is past retention and tombstones the purged keys."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import orm, purge, snapshots
from services.common.kafka import DeliveryFailed, EventProducer, OutgoingMessage

log = logging.getLogger(__name__)
t = orm.timeline
ROUND = "snapshotter"
# A round looks back this far before the last one started: a claim committed late (a long transaction, another
# replica's clock) is still seen; a key seen twice is published once, its digest unchanged.
LOOK_BACK = timedelta(minutes=5)
PURGE_EVERY = timedelta(days=1)
PUBLISH_BATCH = 1000


def changed_keys(conn: sa.Connection, since: datetime | None) -> set[str]:
    """The snapshot keys whose rows may have changed since `since` (every key when None)."""
    if since is None:
        return _every_key(conn)
    claimed = conn.execute(
        sa.select(t.c.event_id, t.c.request_id, t.c.topic, t.c.partition, t.c.offset)
        .join(orm.inbox, orm.inbox.c.event_id == t.c.event_id)
        .where(orm.inbox.c.processed_at >= since).distinct()
    ).all()  # fmt: skip
    keys = {_key(row.request_id, row.event_id) for row in claimed}
    # An entry arriving late on its source chain re-links the entries after it: their keys changed too.
    earliest: dict[tuple[str, int], int] = {}
    for row in claimed:
        earliest[(row.topic, row.partition)] = min(row.offset, earliest.get((row.topic, row.partition), row.offset))
    for (topic, partition), offset in earliest.items():
        later = sa.select(t.c.event_id, t.c.request_id).where(t.c.topic == topic, t.c.partition == partition,
                                                              t.c.offset > offset)  # fmt: skip
        keys |= {_key(row.request_id, row.event_id) for row in conn.execute(later)}
    return keys | _unpublished_purges(conn)


def _unpublished_purges(conn: sa.Connection) -> set[str]:
    """Purge statements not on the topic yet, however they are dated: a purge run with `--now` in the past signs
    statements dated before the last round, which a look by date would never publish (a few rows a day)."""
    published = conn.execute(sa.select(orm.snapshot_keys.c.key).where(orm.snapshot_keys.c.key.like("purge:%")))
    keys = {snapshots.purge_key(digest) for digest in conn.execute(sa.select(orm.chain_purges.c.digest)).scalars()}
    return keys - set(published.scalars())


def _every_key(conn: sa.Connection) -> set[str]:
    rows = conn.execute(sa.select(t.c.event_id, t.c.request_id)).all()
    purges = conn.execute(sa.select(orm.chain_purges.c.digest)).scalars()
    return {_key(row.request_id, row.event_id) for row in rows} | {snapshots.purge_key(d) for d in purges}


def _key(request_id: str | None, event_id: str) -> str:
    return snapshots.request_key(request_id) if request_id else snapshots.entry_key(event_id)


def publish_changes(engine: sa.Engine, producer: EventProducer, topic: str, now: datetime) -> int:
    """One round: publish every changed key whose value differs from the one last published; returns how many."""
    with engine.connect() as conn:
        since = conn.execute(sa.select(orm.snapshot_rounds.c.started_at).where(
            orm.snapshot_rounds.c.name == ROUND)).scalar()  # fmt: skip
        keys = sorted(changed_keys(conn, since - LOOK_BACK if since else None))
    published = 0
    for start in range(0, len(keys), PUBLISH_BATCH):  # the first round of a large database, a batch at a time
        published += _publish(engine, producer, topic, keys[start : start + PUBLISH_BATCH], now)
    with engine.begin() as conn:
        _round_started(conn, now)
    return published


def _publish(engine: sa.Engine, producer: EventProducer, topic: str, keys: list[str], now: datetime) -> int:
    with engine.connect() as conn:
        marks = snapshots.published(conn, keys)
        values = [value for value in snapshots.build(conn, keys) if marks.get(value.key) != value.digest]
    producer.send_all([OutgoingMessage(topic, value.key.encode(), value.encode()) for value in values])
    with engine.begin() as conn:
        snapshots.mark_published(conn, [(value.key, value.digest) for value in values], now)
    return len(values)


def _round_started(conn: sa.Connection, now: datetime) -> None:
    rounds = orm.snapshot_rounds
    if conn.execute(sa.update(rounds).where(rounds.c.name == ROUND).values(started_at=now)).rowcount == 0:
        conn.execute(sa.insert(rounds).values(name=ROUND, started_at=now))


def forget(producer: EventProducer, topic: str, keys: Sequence[str]) -> None:
    """Tombstones (null values), so compaction forgets the purged keys too."""
    producer.send_all([OutgoingMessage(topic, key.encode(), None) for key in keys])


def purge_and_forget(engine: sa.Engine, producer: EventProducer, topic: str, key: Ed25519PrivateKey,
                     now: datetime, retention_days: int) -> purge.Purged:  # fmt: skip
    with engine.begin() as conn:
        purged = purge.purge(conn, key, now, retention_days)
    forget(producer, topic, purged.keys)
    return purged


@dataclass
class Snapshotter:
    """Publishes what changed every `every` seconds; purges once a day (at its first round, then daily)."""

    engine: sa.Engine
    producer: EventProducer
    topic: str
    key: Ed25519PrivateKey
    every: float
    retention_days: int
    last_loop_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_purge_at: datetime | None = None

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.every):
            self.round(datetime.now(UTC))
            self.last_loop_at = datetime.now(UTC)

    def round(self, now: datetime) -> None:
        try:
            if self.last_purge_at is None or now - self.last_purge_at >= PURGE_EVERY:
                purged = purge_and_forget(self.engine, self.producer, self.topic, self.key, now, self.retention_days)
                self.last_purge_at = now
                log.info("retention purge", extra={"requests": purged.requests, "entries": purged.entries})
            publish_changes(self.engine, self.producer, self.topic, now)
        except sa.exc.IntegrityError:
            log.info("another audit process purged or snapshotted first; the next round goes on after it")
        except (sa.exc.OperationalError, DeliveryFailed) as exc:  # the next round tries again
            log.warning("no snapshot this round", extra={"error_class": type(exc).__name__})
