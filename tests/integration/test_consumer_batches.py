"""The consumer applies what one poll returned in one transaction, on a real broker: fewer commits than events,
every effect exactly once and in order, a poison message in the middle dead-lettered alone while the events around
it are applied, and an event type the routing table does not name costs no transaction and no inbox row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.consumer import ConsumerRunner, DeadLetterTopics, Delivery, RetryPolicy
from services.common.db import make_engine
from services.common.errors import PoisonMessage
from services.common.event_types import EventType
from services.common.events import Event
from services.common.inbox import inbox_table
from services.common.kafka import EventProducer, event_message
from services.common.serde import SingleObjectCodec
from tests.infra import TopicFactory
from tests.nonsense import well_formed
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.integration


@dataclass
class Rig:
    topic: str
    dead_letters: DeadLetterTopics
    engine: sa.Engine
    inbox: sa.Table
    effects: sa.Table
    commits: list[int]
    poison: set[str]

    def applied(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(self.effects.c.event_id).order_by(self.effects.c.position)).scalars())

    def inbox_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(self.inbox.c.event_id)).scalars())


@pytest.fixture
def rig(kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path) -> Iterator[Rig]:
    """Events produced onto a one-partition topic before the consumer starts (so one poll returns them all), and a
    consumer whose handler writes one effect row per event in the consumer's transaction."""
    metadata = sa.MetaData()
    inbox = inbox_table(metadata)
    effects = sa.Table("effects", metadata, sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
                       sa.Column("event_id", sa.String(36), nullable=False))  # fmt: skip
    engine = make_engine(f"sqlite:///{tmp_path / 'consumer.db'}")
    metadata.create_all(engine)
    commits: list[int] = []
    sa.event.listen(engine, "commit", lambda _conn: commits.append(1))
    dead_letters = DeadLetterTopics(topic_factory("batches-dlq"), topic_factory("batches-failures"))
    yield Rig(topic_factory("batches"), dead_letters, engine, inbox, effects, commits, set())
    engine.dispose()


def run_until(rig: Rig, bootstrap: str, events: list[Event], done: object) -> None:
    codec = SingleObjectCodec()
    producer = EventProducer({"bootstrap.servers": bootstrap}, "batches-test")
    producer.send_all([event_message(rig.topic, event, codec) for event in events])

    def handler(event: Event, conn: sa.Connection, _delivery: Delivery) -> None:
        if event.event_id in rig.poison:
            raise PoisonMessage("this event can never be applied")
        conn.execute(sa.insert(rig.effects).values(event_id=event.event_id))

    runner = ConsumerRunner(group_id=f"batches-{rig.topic}", topics=[rig.topic],
                            kafka_config={"bootstrap.servers": bootstrap}, engine=rig.engine, inbox=rig.inbox,
                            routes={EventType.REQUEST_COMPLETED: handler}, codec=codec, producer=producer,
                            dead_letters=rig.dead_letters,
                            retry=RetryPolicy(transient_attempts=2, other_attempts=1, base_delay=0.01))  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    rig.commits.clear()
    thread.start()
    try:
        wait_for(done, timeout=30, what="every event settled")  # type: ignore[arg-type]
    finally:
        stop.set()
        thread.join(30)
        producer.close()


def test_events_of_one_poll_commit_together_each_applied_once_in_order(kafka_bootstrap: str, rig: Rig) -> None:
    events = [well_formed("RequestCompleted") for _ in range(20)]
    ids = [event.event_id for event in events]
    run_until(rig, kafka_bootstrap, [*events, events[3]], lambda: len(rig.applied()) >= len(ids))
    assert rig.applied() == ids, "each event applied once (the redelivered one deduplicated), in topic order"
    assert len(rig.commits) < len(ids) / 2, f"{len(rig.commits)} commits for {len(ids)} events: not applied together"


def test_a_poison_message_in_a_batch_is_dead_lettered_alone(kafka_bootstrap: str, rig: Rig) -> None:
    events = [well_formed("RequestCompleted") for _ in range(9)]
    rig.poison.add(events[4].event_id)
    ids = [event.event_id for event in events]
    run_until(rig, kafka_bootstrap, events, lambda: len(rig.applied()) >= len(ids) - 1)
    assert rig.applied() == ids[:4] + ids[5:], "the events before and after the poison one applied, in order"
    assert events[4].event_id not in rig.inbox_ids(), "the poison event's inbox claim rolled back with it"
    dead = read_topic(kafka_bootstrap, rig.dead_letters.dlq)
    assert [dict(m.headers() or [])["event_id"].decode() for m in dead] == [events[4].event_id]


def test_an_event_type_not_routed_costs_no_transaction_and_no_inbox_row(kafka_bootstrap: str, rig: Rig) -> None:
    unrouted = [well_formed("DiscoveryStarted") for _ in range(5)]
    routed = well_formed("RequestCompleted")
    run_until(rig, kafka_bootstrap, [*unrouted, routed], lambda: rig.applied() == [routed.event_id])
    assert rig.inbox_ids() == {routed.event_id}, "only the routed event claimed an inbox row"
    assert len(rig.commits) == 1, "the unrouted events took no transaction of their own"
