"""At-least-once consumer loop: decode, apply in one DB transaction with inbox dedupe, then store the offset.
A message it cannot apply is dead-lettered (services/common/delivery.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from services.common import contracts, faults
from services.common.contracts import ContractBreach
from services.common.delivery import DeadLetterTopics, Delivery, dlq_message, failure_message, request_failed
from services.common.errors import PoisonMessage, TransientError, describe_error, is_transient
from services.common.event_types import EventType
from services.common.events import Event
from services.common.inbox import claim
from services.common.kafka import CONSUMER_DEFAULTS, EventProducer
from services.common.metrics import CONSUMER_LAG, HANDLER_SECONDS, MESSAGES
from services.common.serde import DecodeError, SingleObjectCodec

# Where an event came from, the dead-letter topics and a RequestFailed's shape are named here too, for the services.
__all__ = ["ConsumerRunner", "DeadLetterTopics", "Delivery", "Handler", "RetryPolicy", "Routes", "about_request",
           "dispatch", "request_failed"]  # fmt: skip

log = logging.getLogger(__name__)


# A handler takes the event of the type it is routed (Event[RequestSubmittedPayload], ...), in the consumer's
# transaction; a service's routing table is the one place that says which handler acts on which event type.
Handler = Callable[[Event[Any], sa.Connection, Delivery], None]
Routes = Mapping[EventType, Handler]


def about_request(handler: Handler) -> Handler:
    """The handler, for events that belong to a request; an event without a request id passes untouched."""

    def on_request_event(event: Event, conn: sa.Connection, delivery: Delivery) -> None:
        if event.request_id:
            handler(event, conn, delivery)

    return on_request_event


def dispatch(routes: Routes, event: Event, conn: sa.Connection, delivery: Delivery) -> None:
    """Apply the handler the table routes the event's type to; an event type not in the table passes untouched."""
    if (handler := routes.get(event.event_type)) is not None:
        handler(event, conn, delivery)


@dataclass(frozen=True)
class RetryPolicy:
    transient_attempts: int = 5
    other_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


LAG_EVERY_SECONDS = 10.0


class ConsumerRunner:
    """One consumer group member. `run` returns when `stop` is set, after committing what it processed."""

    def __init__(
        self,
        *,
        group_id: str,
        topics: list[str],
        kafka_config: dict[str, Any],
        engine: sa.Engine,
        inbox: sa.Table,
        routes: Routes,
        codec: SingleObjectCodec,
        producer: EventProducer,
        dead_letters: DeadLetterTopics,
        retry: RetryPolicy | None = None,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.group_id = group_id
        self.topics = topics
        self.engine = engine
        self.inbox = inbox
        self.routes = routes
        # The event types the service acts on: their content is checked first; other types pass through untouched.
        self.handles = frozenset(routes)
        self.codec = codec
        self.producer = producer
        self.dead_letters = dead_letters
        self.retry = retry or RetryPolicy()
        # e.g. wake the service's outbox relay: what the handler wrote to the outbox goes out at once.
        self.after_commit = after_commit
        self.consumer = Consumer({**CONSUMER_DEFAULTS, **kafka_config, "group.id": group_id})
        # Lag is read through a second client that never joins the group: on the subscribed consumer, each offset
        # query waits behind its fetch loop (most of a second per partition), which stalled consuming for minutes.
        self.lag_probe = Consumer({**CONSUMER_DEFAULTS, **kafka_config, "group.id": group_id,
                                   "enable.auto.commit": False})  # fmt: skip
        self.last_loop_at = datetime.now(UTC)
        self.assigned: list[TopicPartition] = []
        self.processed_count = 0
        self.lag_measured_at = 0.0
        # Set once this member has committed up to the ends its partitions had when it first measured them: what was
        # on the topics at start-up is materialised (audit's deadline watch waits for it).
        self.caught_up = threading.Event()
        self._start_ends: dict[tuple[str, int], int] | None = None

    def run(self, stop: threading.Event, batch_size: int = 500) -> None:
        self.consumer.subscribe(
            self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        try:
            while not stop.is_set():
                self.last_loop_at = datetime.now(UTC)
                self._process_batch(self._next_batch(batch_size))
                if stop.is_set():
                    break
                # Every second until caught up (what waits for it starts sooner), then every LAG_EVERY_SECONDS.
                every = LAG_EVERY_SECONDS if self.caught_up.is_set() else min(1.0, LAG_EVERY_SECONDS)
                if time.monotonic() - self.lag_measured_at >= every:
                    self._measure_lag()
        finally:
            self._commit_stored()
            self.consumer.close()
            self.lag_probe.close()

    def _next_batch(self, batch_size: int) -> list[Message]:
        """Wait for the first message only, then take what is already fetched: no latency floor at low traffic."""
        first = self.consumer.poll(0.5)
        if first is None:
            return []
        return [first, *self.consumer.consume(num_messages=batch_size - 1, timeout=0)]

    def _process_batch(self, messages: list[Message]) -> None:
        """Apply what one poll returned, in order. Consecutive messages that decode and meet their contract are
        applied together, in one transaction (one commit for a report's four result events, not four); a message
        that needs more (a dead letter, a hold) is settled alone after the group before it."""
        held: set[tuple[str, int]] = set()
        group: list[tuple[Message, Event]] = []
        for message in messages:
            if self._is_error(message):
                continue
            where = Delivery.of(message)
            if (where.topic, where.partition) in held:
                continue
            if (event := self._plain(message)) is not None:
                group.append((message, event))
                continue
            self._settle_group(group, held)
            group = []
            if (where.topic, where.partition) not in held and not self._process(message):
                self._hold(held, message)
        self._settle_group(group, held)

    def _plain(self, message: Message) -> Event | None:
        """The event, when it decodes and meets its contract (or is a type this service does not act on); None when
        the message needs the single path's care (a dead letter, a decoding retry)."""
        try:
            event = self.codec.decode(message.value())
        except (DecodeError, TransientError):
            return None
        if event.event_type in self.handles:
            try:
                contracts.check(event)
            except ContractBreach:
                return None
        return event

    def _settle_group(self, group: list[tuple[Message, Event]], held: set[tuple[str, int]]) -> None:
        if len(group) > 1:
            try:
                self._apply_all(group)
                return
            except Exception as exc:
                # Nothing of the group committed: each is applied alone, with its own retries and dead letter.
                log.info("a batch failed; applying its events one by one", extra={
                    "consumer": self.group_id, "events": len(group), "error_class": type(exc).__name__})  # fmt: skip
        for message, event in group:
            where = Delivery.of(message)
            if (where.topic, where.partition) not in held and not self._apply_with_retries(message, event):
                self._hold(held, message)

    def _hold(self, held: set[tuple[str, int]], message: Message) -> None:
        """Keep order: redeliver this message and everything after it on its partition."""
        where = Delivery.of(message)
        held.add((where.topic, where.partition))
        self.consumer.seek(TopicPartition(where.topic, where.partition, where.offset))

    def _is_error(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return False
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer error", extra={"consumer": self.group_id, "error": error.str()})
        return True

    def _process(self, message: Message) -> bool:
        """True when the message is done with (applied, duplicate or dead-lettered); False to retry later."""
        try:
            event = self.codec.decode(message.value())
        except DecodeError as exc:
            return self._dead_letter(message, None, exc, attempts=1)
        except TransientError as exc:
            # The bytes may be fine but cannot be read yet (the Schema Registry is away): hold the partition, never
            # dead-letter a message for an outage, and never let the loop die of it.
            log.warning("message cannot be decoded yet, will retry",
                        extra={"consumer": self.group_id, "topic": message.topic(), "error": str(exc)})  # fmt: skip
            MESSAGES.labels(self.group_id, message.topic(), "retried").inc()
            time.sleep(self.retry.delay(1))
            return False
        if event.event_type in self.handles:
            try:
                contracts.check(event)
            except ContractBreach as exc:
                return self._dead_letter(message, event, exc, attempts=1)
        return self._apply_with_retries(message, event)

    def _apply_with_retries(self, message: Message, event: Event) -> bool:
        """True once applied (or dead-lettered as poison, or after its attempts); False to retry later."""
        for attempt in range(1, self.retry.transient_attempts + 1):
            try:
                self._apply_all([(message, event)])
                return True
            except PoisonMessage as exc:
                return self._dead_letter(message, event, exc, attempts=attempt)
            except Exception as exc:
                if not is_transient(exc) and attempt >= self.retry.other_attempts:
                    return self._dead_letter(message, event, exc, attempts=attempt)
                log.warning("handler failed, will retry", extra=self._context(event, exc, attempt))
                MESSAGES.labels(self.group_id, message.topic(), "retried").inc()
                time.sleep(self.retry.delay(attempt))
        return False

    def _apply_all(self, group: list[tuple[Message, Event]]) -> None:
        """Apply the events in one DB transaction, each deduplicated by the inbox, then store their offsets. An event
        of a type the routing table does not name has no effect to apply: it costs no transaction and no inbox row."""
        duplicates: set[int] = set()  # positions in the group
        applied = 0  # routed events applied for the first time: only they can have written what after_commit wakes
        if any(event.event_type in self.handles for _message, event in group):
            with HANDLER_SECONDS.labels(self.group_id).time(), self.engine.begin() as conn:
                for position, (message, event) in enumerate(group):
                    if event.event_type not in self.handles:
                        continue
                    if claim(conn, self.inbox, self.group_id, event.event_id):
                        dispatch(self.routes, event, conn, Delivery.of(message))
                        applied += 1
                    else:
                        duplicates.add(position)
                        log.debug("duplicate event skipped",
                                  extra={"consumer": self.group_id, "event_id": event.event_id})  # fmt: skip
        self.processed_count += len(group)
        if applied and self.after_commit:
            self.after_commit()
        faults.crash_after_count("consumer.after_commit", self.processed_count)
        for position, (message, _event) in enumerate(group):
            self.consumer.store_offsets(message=message)
            outcome = "duplicate" if position in duplicates else "processed"
            MESSAGES.labels(self.group_id, message.topic(), outcome).inc()

    def _dead_letter(self, message: Message, event: Event | None, exc: Exception, attempts: int) -> bool:
        try:
            self.producer.send_all(
                [
                    dlq_message(self.dead_letters.dlq, self.group_id, message, exc, attempts),
                    failure_message(
                        self.dead_letters.failures, self.group_id, message, event, exc, attempts, self.codec
                    ),
                ]
            )
        except Exception:
            log.exception("could not dead-letter a message; it will be retried", extra={"consumer": self.group_id})
            return False
        log.error("message dead-lettered", extra=self._context(event, exc, attempts))
        self.consumer.store_offsets(message=message)
        MESSAGES.labels(self.group_id, message.topic(), "dead_lettered").inc()
        return True

    def _context(self, event: Event | None, exc: Exception, attempt: int) -> dict[str, Any]:
        return {
            "consumer": self.group_id,
            "request_id": event.request_id if event else None,
            "subject_key": event.subject_key if event else None,
            "error_class": type(exc).__name__,
            "error": describe_error(exc),
            "attempt": attempt,
        }

    def _measure_lag(self) -> None:
        """Per topic, the messages on this member's partitions past the group's committed offset (the lag alert)."""
        self.lag_measured_at = time.monotonic()
        lag: dict[str, int] = dict.fromkeys(self.topics, 0)
        positions: dict[tuple[str, int], tuple[int, int]] = {}
        try:
            for partition in self.lag_probe.committed(self.assigned, timeout=2) if self.assigned else []:
                low, high = self.lag_probe.get_watermark_offsets(partition, timeout=2)
                positions[(partition.topic, partition.partition)] = (max(partition.offset, low), high)
                lag[partition.topic] = lag.get(partition.topic, 0) + max(0, high - max(partition.offset, low))
        except KafkaException as exc:
            log.warning("consumer lag not measured", extra={"consumer": self.group_id, "error": exc.args[0].str()})
            return
        for topic, messages in lag.items():
            CONSUMER_LAG.labels(self.group_id, topic).set(messages)
        self._note_catch_up(positions)

    def _note_catch_up(self, positions: dict[tuple[str, int], tuple[int, int]]) -> None:
        """Caught up: every partition committed up to the end it had at the first measurement over an assignment."""
        if self.caught_up.is_set() or not positions:
            return
        if self._start_ends is None:
            self._start_ends = {where: high for where, (_, high) in positions.items()}
        if all(position >= self._start_ends.get(where, 0) for where, (position, _) in positions.items()):
            self.caught_up.set()

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned = list(partitions)

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._commit_stored()
        self.assigned = []

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Another member may already own these partitions: committing now could move its offsets backwards.
        log.warning("partitions lost without commit", extra={"consumer": self.group_id, "count": len(partitions)})
        self.assigned = []

    def _commit_stored(self) -> None:
        try:
            self.consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("commit failed", extra={"consumer": self.group_id, "error": exc.args[0].str()})
