"""24-month retention against the real broker and PostgreSQL: audit keeps a compacted snapshot, a purge with the
clock 25+ months after the old requests removes exactly the old closed ones and verify stays intact, and a rebuild
from the snapshot plus event topics that no longer hold the old events restores the 24 months."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from devtools.localstack import DatabaseServer
from services.audit import orm, queries, snapshots
from services.audit.bootstrap import Audit, bootstrap
from services.audit.settings import AuditSettings
from services.common.events import Event
from services.common.kafka import EventProducer, event_message
from services.common.serde import SingleObjectCodec
from services.common.topics import AUDIT_SNAPSHOTS, TopicNames
from tests.retention_world import (
    OLD,
    OLD_SIGNAL,
    RECEIVED_23_MONTHS_AGO,
    RECENT,
    TOPIC_OF,
    kept_request_ids,
    old_events,
    purged_request_ids,
    recent_events,
    request_events,
    signal,
)
from tests.support import read_topic, wait_for
from tests.unit.test_audit_handlers import SEALED_MARKERS
from tests.unit.test_production_settings import CLEAN

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)  # the purge's clock; the world's events are placed relative to it
t = orm.timeline
SECRETS = ("_KEY_SECRET", "_MASTER_KEYS", "_ACTIVE_MASTER_KEY", "_SIGNING_KEY", "_API_CREDENTIALS", "_SERVICE_TOKEN")


@pytest.fixture
def env(kafka_bootstrap: str, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    secrets = {name: value for name, value in CLEAN.items() if name.endswith(SECRETS)}
    values = {**secrets, "CCPA_ENVIRONMENT": "test", "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
              "CCPA_TOPIC_NAMESPACE": f"r{uuid.uuid4().hex[:10]}.", "CCPA_AUDIT_DATABASE_URL": pg_url,
              "CCPA_AUDIT_SNAPSHOT_SECONDS": "0.3", "CCPA_AUDIT_CHECKPOINT_SECONDS": "0.3"}  # fmt: skip
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**os.environ}


@pytest.fixture
def live(env: dict[str, str]) -> Iterator[Audit]:
    audit = bootstrap(AuditSettings())
    audit.snapshotter.last_purge_at = NOW  # its daily purge is not due during the test: the test purges
    # The deadline watch would announce the old requests' clocks (long run out by the wall clock) while the test
    # counts entries and purges: it is not what this test is about, so it never starts here.
    audit.watch.ready = threading.Event()
    audit.start()
    yield audit
    audit.stop()


def ccpa(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def produce(settings: AuditSettings, events: list[Event]) -> None:
    producer, codec = EventProducer(settings.kafka_config(), client_id="retention-test"), SingleObjectCodec()
    namespace = settings.topic_namespace
    producer.send_all([event_message(namespace + TOPIC_OF[e.event_type], e, codec) for e in events])
    producer.close()


def entries(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())


def latest_values(settings: AuditSettings) -> dict[str, bytes | None]:
    """The snapshot topic as compaction will leave it: each key's last value (None: a tombstone)."""
    topic = TopicNames(settings.topic_namespace)(AUDIT_SNAPSHOTS)
    return {(m.key() or b"").decode(): m.value() for m in read_topic(settings.kafka_bootstrap_servers, topic)}


def high_watermarks(admin: AdminClient, settings: AuditSettings) -> list[TopicPartition]:
    """Where the recent events will begin on each event partition: the old ones end there."""
    from confluent_kafka import Consumer

    consumer = Consumer({**settings.kafka_config(), "group.id": f"marks-{uuid.uuid4()}"})
    try:
        topics = {settings.topic_namespace + base for base in TOPIC_OF.values()}
        metadata = admin.list_topics(timeout=10).topics
        return [TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1])
                for topic in sorted(topics) for p in metadata[topic].partitions]  # fmt: skip
    finally:
        consumer.close()


def test_a_rebuild_restores_24_months_from_the_snapshot_after_the_topics_lost_the_old_events(
    env: dict[str, str], live: Audit, postgres_server: DatabaseServer
) -> None:
    settings, engine = AuditSettings(), live.runtime.engine
    old = old_events(NOW) + request_events(RECEIVED_23_MONTHS_AGO, NOW)
    produce(settings, old)
    wait_for(lambda: entries(engine) == len(old) or None, timeout=60, what="the old events on the timeline")
    admin = AdminClient(settings.kafka_config())
    where_recent_begins = high_watermarks(admin, settings)
    recent = [e for e in recent_events(NOW) if e not in old]
    produce(settings, recent)
    wait_for(lambda: entries(engine) == len(old) + len(recent) or None, timeout=60, what="the recent events")

    purged = ccpa(env, "audit", "purge", "--now", NOW.isoformat())
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "purged 2 closed request(s) and 5 entries older than 731 days" in purged.stdout
    with engine.connect() as conn:
        kept = set(conn.execute(sa.select(t.c.request_id).where(t.c.request_id.is_not(None))).scalars())
        statements = [f"purge:{d}" for d in conn.execute(sa.select(orm.chain_purges.c.digest)).scalars()]
    assert kept == kept_request_ids() and RECEIVED_23_MONTHS_AGO.request_id in kept

    def snapshot_caught_up() -> dict[str, bytes | None] | None:
        values = latest_values(settings)
        alive = {key for key, value in values.items() if value is not None}
        wanted = {snapshots.request_key(r) for r in kept} | set(statements)
        tombstoned = all(values.get(snapshots.request_key(r), b"") is None for r in purged_request_ids())
        tombstoned = tombstoned and values.get(snapshots.entry_key(signal(*OLD_SIGNAL, NOW).event_id), b"") is None
        return values if wanted <= alive and tombstoned else None

    try:
        values = wait_for(snapshot_caught_up, timeout=60, what="the snapshot topic holding the kept keys")
    except AssertionError:
        last = latest_values(settings)
        missing = {snapshots.request_key(r) for r in kept} | set(statements)
        missing -= {key for key, value in last.items() if value is not None}
        alive_purged = [k for k in map(snapshots.request_key, purged_request_ids()) if last.get(k, b"") is not None]
        raise AssertionError(f"snapshot topic: missing {sorted(missing)}; purged keys not tombstoned {alive_purged}; "
                             f"{len(last)} keys in all") from None  # fmt: skip
    verified = ccpa(env, "audit", "verify")
    assert verified.returncode == 0 and "audit chain intact" in verified.stdout, verified.stdout + verified.stderr
    live.stop()

    # The event topics' retention passes: the old events (and the 23-month request's) are gone from them.
    for future in admin.delete_records(where_recent_begins, operation_timeout=30).values():
        future.result()
    remaining = [m for base in sorted(set(TOPIC_OF.values()))
                 for m in read_topic(settings.kafka_bootstrap_servers, settings.topic_namespace + base)]  # fmt: skip
    assert len(remaining) == len(recent)

    rebuilt_url = postgres_server.create_database(f"rebuilt_{uuid.uuid4().hex[:10]}")
    rebuilt = ccpa(env, "audit", "rebuild", "--database-url", rebuilt_url, "--now", NOW.isoformat())
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    restored = sa.create_engine(rebuilt_url)
    try:
        assert queries.snapshot(restored) == queries.snapshot(engine)  # every entry, its links, every record
        assert queries.chain_heads(restored) == queries.chain_heads(engine)
        timeline = queries.timeline(restored, RECEIVED_23_MONTHS_AGO.request_id)
        assert timeline is not None and [e["event_type"] for e in timeline["entries"]] == [
            "RequestSubmitted", "RequestCompleted"]  # fmt: skip
        assert all(queries.timeline(restored, r.request_id) for r in (*OLD[2:], RECENT))
    finally:
        restored.dispose()
    again = ccpa(env, "audit", "verify", "--database-url", rebuilt_url)
    assert again.returncode == 0 and "audit chain intact" in again.stdout, again.stdout + again.stderr

    raw = b"\n".join((value or b"") for value in values.values())
    assert raw and not [marker for marker in SEALED_MARKERS if marker in raw]  # no sealed identifier either
    assert all(json.loads(value)["format"] == snapshots.FORMAT for value in values.values() if value)
