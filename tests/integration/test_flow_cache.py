"""The decision library's opt-out state cache on the real broker: a restart rebuilds it from the compacted topic, the
newest version wins whatever order the records come in, a record that does not decode or breaks its contract is
skipped and counted, sale and sharing fail closed before the first catch-up and once the cache goes stale, and the
lag and subjects gauges follow the topic."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]
from prometheus_client import REGISTRY

from services.common.events import Event
from services.common.flows import Decider, Deny, DenyReason, FlowRule, Relation
from services.common.flows.cache import OptOutStateCache
from services.common.kafka import EventProducer, OutgoingMessage, event_message
from services.common.serde import SingleObjectCodec
from services.common.topics import OPTOUT_STATE, TopicNames, ensure_topics
from tests.fields import with_fields
from tests.nonsense import fields_of, well_formed
from tests.support import wait_for

pytestmark = pytest.mark.integration
CODEC = SingleObjectCodec()
SALE = FlowRule("coop-export", "coop", Relation.SALE, "server_export", frozenset(), permitted=False)
A, B, C = "a1" * 32, "b2" * 32, "c3" * 32


class Topic(NamedTuple):
    bootstrap: str
    topics: TopicNames
    producer: EventProducer

    def publish(self, *events: Event) -> None:
        self.producer.send_all([event_message(self.topics(OPTOUT_STATE), event, CODEC) for event in events])

    def publish_raw(self, key: bytes, value: bytes) -> None:
        self.producer.send_all([OutgoingMessage(self.topics(OPTOUT_STATE), key, value)])

    def cache(self, name: str, stale_after_seconds: float = 30.0, check_every_seconds: float = 1.0) -> OptOutStateCache:
        return OptOutStateCache(
            {"bootstrap.servers": self.bootstrap},
            self.topics,
            name=name,
            stale_after_seconds=stale_after_seconds,
            check_every_seconds=check_every_seconds,
        )


@pytest.fixture
def topic(kafka_bootstrap: str) -> Iterator[Topic]:
    topics = TopicNames(f"t{uuid.uuid4().hex[:10]}.")
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), topics, 3, 1)
    producer = EventProducer({"bootstrap.servers": kafka_bootstrap}, "test-flow-cache")
    try:
        yield Topic(kafka_bootstrap, topics, producer)
    finally:
        producer.close()


def state(subject_key: str, version: int, opted_out: bool = True) -> Event:
    event = dataclasses.replace(well_formed("OptOutState"), subject_key=subject_key, event_id=str(uuid.uuid4()))
    fields = {**fields_of(event), "version": version, "sale_opt_out": opted_out, "share_opt_out": opted_out}
    return with_fields(event, fields)


def started(cache: OptOutStateCache) -> OptOutStateCache:
    cache.start()
    assert cache.wait_until_caught_up(60), "the cache did not catch up"
    return cache


def test_a_restart_rebuilds_the_cache_from_the_compacted_topic(topic: Topic) -> None:
    topic.publish(state(A, 1), state(B, 1, opted_out=False))
    first = started(topic.cache("restart-1"))
    try:
        assert first.fresh() and first.get(A) is not None and first.get(A).sale_opt_out  # type: ignore[union-attr]
    finally:
        first.stop()
    topic.publish(state(C, 2))
    second = started(topic.cache("restart-2"))
    try:
        assert {key: second.version(key) for key in (A, B, C)} == {A: 1, B: 1, C: 2}
        assert len(second) == 3
    finally:
        second.stop()


def test_the_newest_version_wins_whatever_the_order(topic: Topic) -> None:
    topic.publish(state(A, 5, opted_out=True), state(A, 3, opted_out=False))
    cache = started(topic.cache("versions"))
    try:
        held = cache.get(A)
        assert held is not None and (held.version, held.sale_opt_out) == (5, True)
        topic.publish(state(A, 4, opted_out=False), state(A, 6, opted_out=False))
        wait_for(lambda: cache.version(A) == 6, timeout=30, what="the live version 6 read")
        assert cache.get(A).sale_opt_out is False  # type: ignore[union-attr]
    finally:
        cache.stop()


def test_a_poison_record_is_skipped_and_counted_never_trusted(topic: Topic) -> None:
    breaking = dataclasses.replace(state(B, 1), request_id="../../etc/passwd")
    topic.publish_raw(A.encode(), b"\x00not avro at all")
    topic.publish(breaking, state(C, 1))
    cache = started(topic.cache("poison"))
    try:
        assert cache.skipped == 2 and cache.get(A) is None and cache.get(B) is None and cache.get(C) is not None
        skipped = REGISTRY.get_sample_value("ccpa_flow_cache_skipped_total", {"cache": "poison"})
        assert skipped == 2
    finally:
        cache.stop()


def test_sale_fails_closed_before_the_first_catch_up_and_once_the_cache_is_stale(topic: Topic) -> None:
    topic.publish(state(A, 1, opted_out=False))
    cache = topic.cache("stale", stale_after_seconds=1.5)
    decider = Decider({SALE.name: SALE}, cache)
    assert decider.decide(B, SALE.name) == Deny(SALE.name, DenyReason.STATE_UNKNOWN)  # not started yet
    started(cache)
    try:
        assert decider.decide(B, SALE.name) and decider.decide(A, SALE.name)
        wait_for(lambda: cache.staleness_seconds() < 1.5, timeout=10, what="the cache confirmed current")
    finally:
        cache.stop()  # it no longer confirms anything: its staleness only grows
    wait_for(lambda: not cache.fresh(), timeout=10, what="the stopped cache stale")
    assert decider.decide(B, SALE.name) == Deny(SALE.name, DenyReason.STATE_UNKNOWN)
    assert decider.decide(A, SALE.name).reason is DenyReason.STATE_UNKNOWN  # type: ignore[union-attr]


def test_the_lag_and_subjects_gauges_follow_the_topic(topic: Topic) -> None:
    subjects = [uuid.uuid4().hex * 2 for _ in range(3000)]
    for start in range(0, len(subjects), 500):
        topic.publish(*(state(key, 1) for key in subjects[start : start + 500]))
    cache = topic.cache("lag", check_every_seconds=0.5).start()

    def gauge(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"cache": "lag"}) or 0.0

    try:
        wait_for(lambda: gauge("ccpa_flow_cache_lag_messages") > 0, timeout=30, interval=0.005,
                 what="a lag while reading the topic")  # fmt: skip
        assert cache.wait_until_caught_up(60)
        wait_for(lambda: gauge("ccpa_flow_cache_lag_messages") == 0, timeout=10, what="no lag once caught up")
        assert gauge("ccpa_flow_cache_subjects") == 3000
        assert gauge("ccpa_flow_cache_staleness_seconds") < 5
    finally:
        cache.stop()
