"""Reference downstream subscriber: rebuilds opt-out state from the compacted topic and acknowledges each version.

What an ad-tech or analytics sync should do: read privacy.optout.state from the beginning (the compacted log is
the full current state), keep the latest version per subject, stop using opted-out subjects, and acknowledge on
privacy.optout.acks. Acknowledgement ids are derived from (system, subject, version), so a restart that reads
the topic again re-sends the same ids and the pipeline counts each acknowledgement once.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from services.common import contracts
from services.common.codec import codec_for, decode_patiently
from services.common.errors import TransientError
from services.common.event_types import EventType
from services.common.events import Event
from services.common.flows import decision
from services.common.flows.cache import OptOutStateCache
from services.common.flows.probe import ProbeReplay
from services.common.kafka import DeliveryFailed, EventProducer, event_message
from services.common.metrics import MESSAGES
from services.common.payloads.consent import OptOutAcknowledgedPayload, OptOutStatePayload
from services.common.serde import DecodeError, SingleObjectCodec
from services.common.topics import OPTOUT_ACKS, OPTOUT_STATE, TopicNames

if TYPE_CHECKING:
    from services.common.flows.enforcement import EnforcementSettings

log = logging.getLogger(__name__)
PROBE_WAIT_SECONDS = 10.0  # how long a probe waits for the gates' cache to read the acknowledged version
ACK_NAMESPACE = uuid.UUID("6f1c2f3e-7a4b-4b8e-9a51-0c0ffee00000")


@dataclass(frozen=True)
class SubjectState:
    version: int
    sale_opt_out: bool
    share_opt_out: bool
    limit_sensitive: tuple[str, ...]
    event_id: str
    request_id: str | None


class ReferenceSubscriber:
    def __init__(self, name: str, kafka_config: dict[str, Any], topics: TopicNames,
                 codec: SingleObjectCodec | None = None) -> None:  # fmt: skip
        self.name = name
        self.topics = topics
        self.codec = codec or SingleObjectCodec()  # reads both encodings; writes the wire format with a registry
        self.producer = EventProducer(kafka_config, client_id=f"downstream-{name}")
        # No committed offsets: every start reads the compacted topic from its beginning.
        self.consumer = Consumer({**kafka_config, "group.id": f"downstream-{name}-{uuid.uuid4()}",
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})  # fmt: skip
        self.state: dict[str, SubjectState] = {}
        self.acknowledged = 0
        self.skipped = 0  # state records refused: undecodable, of another type, or breaking the contract
        self.kafka_failures = 0
        self.last_loop_at = datetime.now(UTC)
        self.caught_up = threading.Event()  # set once the rebuild has acknowledged what the topic held at start
        self.probes: ProbeReplay | None = None  # with gated flows: each live opt-out acknowledged is probed
        self.probe_states: OptOutStateCache | None = None  # what the gated integrations decide on

    def run(self, stop: threading.Event) -> None:
        """Rebuild from the beginning, acknowledge the latest version of each subject, then follow live. A broker
        that is away (at start, or while acknowledging) is waited for: the subscriber never exits for it."""
        try:
            self._until_done(functools.partial(self._rebuild, stop), stop)
            self.caught_up.set()
            while not stop.is_set():
                self.last_loop_at = datetime.now(UTC)
                message = self.consumer.poll(0.5)
                kept = self._apply(message, stop) if message is not None and message.error() is None else None
                if kept is not None:
                    self._until_done(functools.partial(self._acknowledge, kept), stop)
                    self._until_done(functools.partial(self._probe, kept), stop)
        finally:
            self.consumer.close()
            self.producer.close()

    def _probe(self, subject_key: str) -> None:
        """Replay the acknowledged opt-out through every gated flow it must stop (live versions only: a restart
        re-acknowledges, it does not probe again)."""
        state = self.decision_state(subject_key)
        if self.probes is None or state is None or not (state.sale_opt_out or state.share_opt_out):
            return
        cache = self.probe_states
        deadline = time.monotonic() + PROBE_WAIT_SECONDS
        while cache is not None and (cache.version(subject_key) or 0) < state.version:
            if time.monotonic() > deadline:  # probed anyway: a fresh cache that missed the opt-out is the leak
                break
            time.sleep(0.005)
        if cache is not None and (cache.version(subject_key) or 0) > state.version:
            # The gates already decide on a newer state (an opt-in right after): this version no longer binds them,
            # and replaying it would report their correct allow as a leak. A newer opt-out is probed on its own ack.
            return
        self.probes.replay(subject_key, state)

    def decision_state(self, subject_key: str) -> decision.SubjectState | None:
        """The held state as the decision library reads it."""
        held = self.state.get(subject_key)
        if held is None:
            return None
        return decision.SubjectState(held.version, held.sale_opt_out, held.share_opt_out,
                                     frozenset(held.limit_sensitive), held.request_id)  # fmt: skip

    def _rebuild(self, stop: threading.Event) -> None:
        self.state.clear()
        ends = self._assign_from_beginning()
        self._catch_up(ends, stop)
        for subject_key in list(self.state):
            self._acknowledge(subject_key)

    def _until_done(self, step: Callable[[], None], stop: threading.Event) -> None:
        """Run `step` until it succeeds or we are stopped, waiting longer after each Kafka failure (up to 10 s)."""
        delay = 0.5
        while not stop.is_set():
            try:
                step()
                return
            except (KafkaException, DeliveryFailed, TimeoutError) as exc:
                self.kafka_failures += 1
                log.warning("Kafka unavailable; trying again", extra={"downstream": self.name, "error": str(exc)[:200],
                                                                      "retry_in_seconds": delay})  # fmt: skip
                self.last_loop_at = datetime.now(UTC)
                stop.wait(delay)
                delay = min(delay * 2, 10.0)

    def _catch_up(self, ends: dict[int, int], stop: threading.Event) -> None:
        """Older versions still in the uncompacted head are applied but not acknowledged: only the latest is."""
        while ends and not stop.is_set():
            self.last_loop_at = datetime.now(UTC)
            for message in self.consumer.consume(500, timeout=0.5):
                if message.error() is None:
                    self._apply(message, stop)
                    partition, offset = message.partition(), message.offset()
                    if partition is not None and offset is not None and offset + 1 >= ends.get(partition, 0):
                        ends.pop(partition, None)

    def opted_out(self, subject_key: str) -> bool:
        state = self.state.get(subject_key)
        return bool(state and (state.sale_opt_out or state.share_opt_out))

    def _assign_from_beginning(self) -> dict[int, int]:
        """Assign every partition from its start; returns the end offsets of the partitions that hold data."""
        topic = self.topics(OPTOUT_STATE)
        partitions = self._partitions(topic)
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        ends = {}
        for partition in partitions:
            low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
            if high > low:
                ends[partition] = high
        return ends

    def _apply(self, message: Message, stop: threading.Event | None = None) -> str | None:
        """Keep the record if it is a valid state newer than what we hold for its subject; its subject when kept.
        A record that does not decode, is of another type or breaks OptOutState's contract (the rules every
        consumer checks) is skipped, logged and counted: acknowledging it would vouch for nonsense."""
        try:
            event = decode_patiently(self.codec, message.value(), stop or threading.Event())
        except TransientError:  # stopped while the registry was away: the record is read again on the next start
            return None
        except DecodeError:
            self._skip("undecodable state record skipped")
            return None
        payload = event.payload
        if not isinstance(payload, OptOutStatePayload):
            self._skip("a record of another event type on the state topic skipped")
            return None
        try:
            contracts.check(event)
        except contracts.ContractBreach as breach:  # its message names the field and rule, never the value
            self._skip("an opt-out state breaking its contract skipped", breach)
            return None
        current = self.state.get(event.subject_key)
        if current is not None and current.version >= payload.version:
            return None
        self.state[event.subject_key] = SubjectState(
            payload.version, payload.sale_opt_out, payload.share_opt_out,
            tuple(payload.limit_sensitive), event.event_id, event.request_id,
        )  # fmt: skip
        return event.subject_key

    def _skip(self, why: str, breach: Exception | None = None) -> None:
        self.skipped += 1
        MESSAGES.labels(f"downstream-{self.name}", self.topics(OPTOUT_STATE), "skipped").inc()
        log.warning(why, extra={"downstream": self.name, **({"error": str(breach)} if breach else {})})

    def _partitions(self, topic: str) -> list[int]:
        """The state topic's partitions; a TimeoutError (retried) while the opt-out service has not created it."""
        metadata = self.consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is not None and metadata.error is None and metadata.partitions:
            return sorted(metadata.partitions)
        raise TimeoutError(f"topic {topic} does not exist yet; is the opt-out service up?")

    def _acknowledge(self, subject_key: str) -> None:
        state = self.state[subject_key]
        ack = Event(
            EventType.OPT_OUT_ACKNOWLEDGED, subject_key, f"downstream:{self.name}", request_id=state.request_id,
            event_id=str(uuid.uuid5(ACK_NAMESPACE, f"{self.name}|{subject_key}|{state.version}")),
            payload=OptOutAcknowledgedPayload(downstream=self.name, state_version=state.version,
                                              state_event_id=state.event_id, sale_opt_out=state.sale_opt_out,
                                              share_opt_out=state.share_opt_out),
        )  # fmt: skip
        self.producer.send_all([event_message(self.topics(OPTOUT_ACKS), ack, self.codec)])
        self.acknowledged += 1


def main() -> None:
    """`python -m services.optout.subscriber --name NAME`: run the reference subscriber until SIGTERM."""
    import argparse
    import signal

    from services.common.datamap.loader import DataMapError
    from services.common.flows.enforcement import EnforcementSettings, refusal
    from services.common.logs import configure_logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="adtech-sync", help="the downstream system's registered name")
    parser.add_argument(
        "--ready-file", type=Path, help="written once caught up with the state topic (for a supervisor)"
    )
    parser.add_argument("--gated-flows", default="", help="the data map's flows (comma-separated) this downstream "
                        "gates: each live opt-out acknowledged is replayed through them as a probe")  # fmt: skip
    arguments = parser.parse_args()
    name = arguments.name
    settings = EnforcementSettings()
    configure_logging(f"downstream-{name}", settings.log_level, settings.log_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("reference subscriber started", extra={"downstream": name})
    subscriber = ReferenceSubscriber(name, settings.kafka_config(), TopicNames(settings.topic_namespace),
                                     codec_for(settings.schema_registry_config()))  # fmt: skip
    flows = [flow.strip() for flow in arguments.gated_flows.split(",") if flow.strip()]
    if flows:
        try:
            gated_probes(subscriber, flows, settings)
        except DataMapError as refused:
            raise SystemExit(f"downstream {name} cannot start: {refusal(refused)}") from None
    if arguments.ready_file is not None:
        threading.Thread(
            target=mark_ready, args=(subscriber.caught_up, stop, arguments.ready_file), daemon=True
        ).start()
    subscriber.run(stop)


def gated_probes(subscriber: ReferenceSubscriber, flows: list[str], settings: EnforcementSettings) -> None:
    """Probe replay through a gate for each named flow of the data map (CCPA_DATAMAP), deciding on an opt-out state
    cache of its own as the integrations do; SystemExit naming a flow the data map does not register."""
    from services.common.datamap.loader import load_datamap
    from services.common.flows.evidence import BlockedFlows
    from services.common.flows.gates import CallGate, ExportGate
    from services.common.flows.probe import Probed

    rules = decision.flow_rules(load_datamap(settings.datamap_path))
    unknown = sorted(set(flows) - set(rules))
    if unknown:
        raise SystemExit(f"--gated-flows names flows the data map does not register: {', '.join(unknown)}")
    cache = OptOutStateCache(settings.kafka_config(), subscriber.topics, name=f"probe-{subscriber.name}",
                             stale_after_seconds=settings.flow_stale_after_seconds,
                             codec=subscriber.codec).start()  # fmt: skip
    decider = decision.Decider(rules, cache)
    sink = BlockedFlows(settings.kafka_config(), gate=f"probe:{subscriber.name}",
                        producer=f"downstream:{subscriber.name}", topics=subscriber.topics,
                        codec=subscriber.codec)  # fmt: skip
    gates: list[Probed] = [
        ExportGate(decider, flow, sink) if rules[flow].channel == "server_export" else CallGate(decider, flow, sink)
        for flow in flows
    ]
    subscriber.probes, subscriber.probe_states = ProbeReplay(gates, downstream=subscriber.name), cache


def mark_ready(caught_up: threading.Event, stop: threading.Event, ready_file: Path) -> None:
    """Write the ready file once the subscriber has caught up (not at all if it is stopped first)."""
    while not stop.is_set():
        if caught_up.wait(0.5):
            ready_file.write_text("caught up\n")
            return


if __name__ == "__main__":
    main()
