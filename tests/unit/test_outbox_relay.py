"""The relay's settlement of one batch: published rows go, unpublishable rows are parked, passing failures stay."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from confluent_kafka import KafkaError

from services.common import contracts
from services.common.http_guard import field_path
from services.common.kafka import DeliveryFailed, OutgoingMessage
from services.common.outbox import PARKED_TABLE, OutboxRelay, outbox_table
from services.common.serde import SingleObjectCodec
from services.common.topics import TopicNames


class ScriptedProducer:
    """Answers each message by its value: b"huge" is refused for good, b"later" times out, the rest is taken."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def deliver(self, messages: Sequence[OutgoingMessage], timeout: float = 30.0) -> list[KafkaError | None]:
        answers = {b"huge": KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), b"later": KafkaError(KafkaError._MSG_TIMED_OUT)}
        outcomes = [answers.get(message.value) for message in messages]
        self.sent += [message for message, outcome in zip(messages, outcomes, strict=True) if outcome is None]
        return outcomes

    def send_all(self, messages: Sequence[OutgoingMessage], timeout: float = 30.0) -> None:
        self.sent += messages


@pytest.fixture
def relay(tmp_path: Path) -> OutboxRelay:
    metadata = sa.MetaData()
    engine = sa.create_engine(f"sqlite:///{tmp_path}/outbox.db")
    table = outbox_table(metadata)
    metadata.create_all(engine)
    return OutboxRelay(engine, table, ScriptedProducer(), SingleObjectCodec(), TopicNames("t."), "intake")  # type: ignore[arg-type]


def add(relay: OutboxRelay, *values: bytes) -> None:
    with relay.engine.begin() as conn:
        for value in values:
            headers = [["event_type", "RequestSubmitted"], ["event_id", str(uuid.uuid4())],
                       ["request_id", str(uuid.uuid4())]]  # fmt: skip
            conn.execute(sa.insert(relay.table).values(topic="t.privacy.requests", message_key=b"k",
                                                       message_value=value, headers=headers,
                                                       created_at=datetime.now(UTC)))  # fmt: skip


def values(relay: OutboxRelay, table: sa.Table) -> list[bytes]:
    with relay.engine.connect() as conn:
        return [row.message_value for row in conn.execute(sa.select(table).order_by(table.c.id))]


def test_a_passing_failure_keeps_the_batch_pending_but_parks_the_unpublishable_row(relay: OutboxRelay) -> None:
    add(relay, b"a", b"huge", b"later", b"b")
    with pytest.raises(DeliveryFailed, match="timed out"):
        relay.publish_pending()
    assert values(relay, relay.parked) == [b"huge"]
    assert values(relay, relay.table) == [b"a", b"later", b"b"], "sent again, in order, on the next attempt"
    assert relay.parked_count() == 1 and relay.pending_count() == 3


def test_a_batch_with_only_unpublishable_rows_besides_the_published_ones_settles(relay: OutboxRelay) -> None:
    add(relay, b"a", b"huge", b"b")
    assert relay.publish_pending() == 3
    assert values(relay, relay.table) == [] and values(relay, relay.parked) == [b"huge"]
    sent = relay.producer.sent  # type: ignore[attr-defined]
    assert [m.value for m in sent if m.topic == "t.privacy.requests"] == [b"a", b"b"]
    assert [m.topic for m in sent if m.topic != "t.privacy.requests"] == ["t.privacy.failures"]
    with relay.engine.connect() as conn:
        assert conn.execute(sa.select(relay.table.metadata.tables[PARKED_TABLE].c.reason)).scalar_one() == (
            "MSG_SIZE_TOO_LARGE"
        )
    failure = relay.codec.decode(next(m for m in sent if m.topic == "t.privacy.failures").value)
    contracts.check(failure)  # audit will take it: a parked row's failure is not itself refused
    assert failure.payload.source_partition == failure.payload.source_offset == contracts.NOT_ON_A_TOPIC


@pytest.mark.parametrize(
    ("location", "path"),
    [
        (("body", "corrections", "alice@example.com"), "corrections.*"),
        (("body", "identifiers", "alice@example.com"), "identifiers.*"),
        (("body", "limit_categories", 3), "limit_categories.3"),
        (("body", "alice@example.com"), "*"),
        (("query", "expires"), "query.expires"),
    ],
)
def test_a_field_path_keeps_only_declared_names(location: tuple[object, ...], path: str) -> None:
    declared = frozenset({"corrections", "identifiers", "limit_categories", "query", "expires"})
    assert field_path(location, declared) == path


def test_a_scrape_while_the_database_is_away_reports_nan_instead_of_failing(relay: OutboxRelay, tmp_path: Path) -> None:
    from prometheus_client import REGISTRY, generate_latest

    add(relay, b"one")
    assert REGISTRY.get_sample_value("ccpa_outbox_pending") == 1
    (tmp_path / "outbox.db").unlink()
    (tmp_path / "outbox.db").mkdir()  # the file is now a directory: every connection fails
    relay.engine.dispose()
    assert "ccpa_outbox_pending NaN" in generate_latest().decode()
