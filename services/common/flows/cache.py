"""The decision library's StateSource in a service: a local cache of the compacted privacy.optout.state, read from
the beginning in a background thread (no committed offsets: a restart rebuilds it). It keeps the latest version per
subject, skips (and counts) a record that does not decode or breaks its contract, and knows how stale it is: the time
since it last confirmed it had read every partition up to the high watermark it saw then."""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from services.common import contracts
from services.common.codec import decode_patiently
from services.common.errors import TransientError
from services.common.flows.decision import SubjectState
from services.common.flows.store import StateStore
from services.common.metrics import FLOW_CACHE_LAG, FLOW_CACHE_SKIPPED, FLOW_CACHE_STALENESS, FLOW_CACHE_SUBJECTS
from services.common.payloads.consent import OptOutStatePayload
from services.common.serde import DecodeError, SingleObjectCodec
from services.common.topics import OPTOUT_STATE, TopicNames

log = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 1.0


class OptOutStateCache:
    """decision.StateSource fed by privacy.optout.state. `start()`, then `wait_until_caught_up(timeout)`; past
    `stale_after_seconds` without a confirmed catch-up `fresh()` is False, so sale and sharing fail closed."""

    def __init__(self, kafka_config: dict[str, Any], topics: TopicNames, *, stale_after_seconds: float = 30.0,
                 name: str = "flows", check_every_seconds: float = CHECK_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 codec: SingleObjectCodec | None = None) -> None:  # fmt: skip
        self.name = name
        self.topic = topics(OPTOUT_STATE)
        self.stale_after_seconds = stale_after_seconds
        self.check_every_seconds = check_every_seconds
        self.clock = clock
        self.kafka_config = {**kafka_config, "group.id": f"flow-cache-{name}-{uuid.uuid4()}",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest"}  # fmt: skip
        self.codec = codec or SingleObjectCodec()  # a RegistryCodec where optout writes the Confluent wire format
        self.store = StateStore()
        self.skipped = 0
        self.lag = 0
        self.caught_up = threading.Event()
        self.confirmed_at: float | None = None  # monotonic instant the cache was last known up to date
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._positions: dict[int, int] = {}  # partition -> next offset to read
        self._lows: dict[int, int] = {}
        self._target: tuple[float, dict[int, int]] | None = None  # (when, high watermarks then) not yet reached
        self._checked_at = -math.inf
        self._lock = threading.Lock()  # the target and positions, shared with the watermark thread

    # StateSource
    def get(self, subject_key: str) -> SubjectState | None:
        """The subject's latest state; None when the topic holds none for it."""
        return self.store.get(subject_key)

    def fresh(self) -> bool:
        """Caught up within the staleness bound."""
        return self.staleness_seconds() <= self.stale_after_seconds

    def staleness_seconds(self) -> float:
        """Seconds since the cache last confirmed it had read to the high watermarks; infinite before the first."""
        confirmed = self.confirmed_at
        return math.inf if confirmed is None else max(0.0, self.clock() - confirmed)

    def version(self, subject_key: str) -> int | None:
        """The version held for the subject (a probe waits for the acknowledged one)."""
        return self.store.version(subject_key)

    def __len__(self) -> int:
        return len(self.store)

    # lifecycle
    def start(self) -> OptOutStateCache:
        """Read the topic in a background thread (from its beginning)."""
        self._thread = threading.Thread(target=self._run, name=f"flow-cache-{self.name}", daemon=True)
        self._thread.start()
        return self

    def wait_until_caught_up(self, timeout: float) -> bool:
        """Whether the cache caught up with the topic within `timeout` seconds."""
        return self.caught_up.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        consumer = Consumer(self.kafka_config)
        watcher: threading.Thread | None = None
        try:
            partitions = self._until_assigned(consumer)
            if partitions is not None:
                # Watermarks are read by a client of their own, so a slow broker answer never holds up reading.
                watcher = threading.Thread(target=self._watch, args=(partitions,), name=f"flow-cache-{self.name}-hw",
                                           daemon=True)  # fmt: skip
                watcher.start()
            while partitions is not None and not self._stop.is_set():
                # poll waits for the first record only; consume(timeout=0) then takes what is buffered (a batch
                # consume with a timeout would wait out the timeout for a full batch, 100 ms on every change).
                first = consumer.poll(0.1)
                batch = [first, *consumer.consume(499, timeout=0)] if first is not None else []
                for message in batch:
                    if message.error() is None:
                        self.apply(message)
                self._reached()
                self._publish_gauges()
        finally:
            consumer.close()
            if watcher is not None:
                watcher.join(10)

    def _watch(self, partitions: list[int]) -> None:
        """Read the high watermarks about once a second until stopped."""
        client = Consumer({**self.kafka_config, "group.id": f"{self.kafka_config['group.id']}-hw"})
        try:
            while not self._stop.is_set():
                self._check(client, partitions)
                self._stop.wait(self.check_every_seconds)
        finally:
            client.close()

    def _until_assigned(self, consumer: Consumer) -> list[int] | None:
        """Assign every partition from its beginning, waiting for the topic (and the broker) as long as it takes."""
        while not self._stop.is_set():
            try:
                metadata = consumer.list_topics(self.topic, timeout=5).topics.get(self.topic)
                if metadata is not None and metadata.error is None and metadata.partitions:
                    partitions = sorted(metadata.partitions)
                    consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
                    return partitions
            except KafkaException as exc:
                log.warning("opt-out state cache waiting for Kafka", extra={"cache": self.name,
                                                                            "error": str(exc)[:200]})  # fmt: skip
            self._publish_gauges()
            self._stop.wait(1.0)
        return None

    def _check(self, consumer: Consumer, partitions: list[int]) -> None:
        """Read the high watermarks (about once a second): the next target the cache must reach to be current."""
        self._checked_at = self.clock()
        highs: dict[int, int] = {}
        try:
            for partition in partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, partition), timeout=5,
                                                           cached=False)  # fmt: skip
                self._lows[partition] = low
                highs[partition] = high
        except KafkaException as exc:  # the broker is away: staleness grows until it is back
            log.warning("opt-out state cache cannot read watermarks", extra={"cache": self.name,
                                                                             "error": str(exc)[:200]})  # fmt: skip
            return
        with self._lock:
            self.lag = sum(max(0, high - self._position(p)) for p, high in highs.items())
            if self._target is None:
                self._target = (self._checked_at, highs)
        self._reached()

    def _position(self, partition: int) -> int:
        return max(self._positions.get(partition, 0), self._lows.get(partition, 0))

    def _reached(self) -> None:
        """Once every partition is read up to the target's watermarks, the cache was current as of the target."""
        with self._lock:
            target = self._target
            if target is None:
                return
            when, highs = target
            if not all(self._position(p) >= high for p, high in highs.items()):
                return
            self.confirmed_at = when
            self._target = None
        self.caught_up.set()

    def apply(self, message: Message) -> bool:
        """Keep the record if it is a valid state newer than what is held; whether it was kept."""
        try:
            # Waits out a registry outage: the record counts as read (caught up) only once it is decoded.
            event = decode_patiently(self.codec, message.value(), self._stop)
        except TransientError:  # stopped while waiting: neither read nor skipped
            return False
        except DecodeError:
            self._advance(message)
            return self._skip("undecodable state record skipped")
        self._advance(message)
        payload = event.payload
        if not isinstance(payload, OptOutStatePayload):
            return self._skip("a record of another event type on the state topic skipped")
        try:
            contracts.check(event)
        except contracts.ContractBreach as breach:  # names the field and rule, never the value
            return self._skip("an opt-out state breaking its contract skipped", str(breach))
        state = SubjectState(payload.version, payload.sale_opt_out, payload.share_opt_out,
                             frozenset(payload.limit_sensitive), event.request_id)  # fmt: skip
        return self.store.put(event.subject_key, state)

    def _advance(self, message: Message) -> None:
        partition, offset = message.partition(), message.offset()
        if partition is not None and offset is not None:
            with self._lock:
                self._positions[partition] = offset + 1

    def _skip(self, why: str, error: str | None = None) -> bool:
        self.skipped += 1
        FLOW_CACHE_SKIPPED.labels(self.name).inc()
        log.warning(why, extra={"cache": self.name, **({"error": error} if error else {})})
        return False

    def _publish_gauges(self) -> None:
        FLOW_CACHE_STALENESS.labels(self.name).set(self.staleness_seconds())
        FLOW_CACHE_LAG.labels(self.name).set(self.lag)
        FLOW_CACHE_SUBJECTS.labels(self.name).set(len(self.store))
