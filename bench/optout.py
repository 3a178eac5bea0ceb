"""Opt-out propagation under sustained load: signal (POST) → OptOutState on the topic → downstream acknowledgement.

A watcher reads privacy.optout.state and privacy.optout.acks from their ends and records when each subject's
record first appears; a background load submits opt-outs at a fixed rate while samples are taken one at a time.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from devtools.local.pipeline import Pipeline
from services.common.crypto import subject_key_of
from services.common.identity import IdentifierKind
from services.common.settings import decode_key
from services.common.topics import OPTOUT_ACKS, OPTOUT_STATE, TopicNames

SAMPLE_TIMEOUT_S = 15.0


@dataclass
class Propagation:
    to_state: list[float] = field(default_factory=list)
    to_ack: list[float] = field(default_factory=list)
    timeouts: int = 0
    background_sent: int = 0
    background_rate: float = 0.0


class TopicWatch:
    """First-seen monotonic times of each subject key on the state and ack topics."""

    def __init__(self, bootstrap: str, names: TopicNames) -> None:
        self.topics = {names(OPTOUT_STATE): "state", names(OPTOUT_ACKS): "ack"}
        self.seen: dict[tuple[str, str], float] = {}
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}",
                                  "enable.auto.commit": False})  # fmt: skip
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> TopicWatch:
        assignment = []
        for topic in self.topics:
            partitions = self.consumer.list_topics(topic, timeout=15).topics[topic].partitions
            assignment += [TopicPartition(topic, p, OFFSET_END) for p in partitions]
        self.consumer.assign(assignment)
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.consumer.close()

    def _run(self) -> None:
        while not self.stop.is_set():
            for message in self.consumer.consume(500, timeout=0.05):
                key, topic = message.key(), message.topic()
                if message.error() is None and isinstance(key, bytes) and topic in self.topics:
                    self.seen.setdefault((self.topics[topic], key.decode()), time.perf_counter())


def _background(url: str, rate: float, stop: threading.Event, result: Propagation) -> None:
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            client.post("/v1/requests", json={"type": "opt_out", "identifiers": {"device_id": f"bg-{uuid.uuid4()}"}})
            result.background_sent += 1
            wait = started + result.background_sent / rate - time.perf_counter()
            if wait > 0:
                stop.wait(wait)
    result.background_rate = result.background_sent / (time.perf_counter() - started)


def measure(pipeline: Pipeline, samples: int, background_rate: float) -> Propagation:
    secret = decode_key(pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "CCPA_SUBJECT_KEY_SECRET")
    watch = TopicWatch(pipeline.config.bootstrap_servers, TopicNames(pipeline.config.topic_namespace)).start()
    result, stop = Propagation(), threading.Event()
    load = threading.Thread(target=_background, args=(pipeline.intake.url, background_rate, stop, result))
    load.start()
    try:
        with httpx.Client(base_url=pipeline.intake.url, timeout=10) as client:
            for _ in range(samples):
                _one(client, watch, secret, result)
    finally:
        stop.set()
        load.join(20)
        watch.close()
    return result


def _one(client: httpx.Client, watch: TopicWatch, secret: bytes, result: Propagation) -> None:
    device = f"sample-{uuid.uuid4()}"
    subject = subject_key_of(secret, IdentifierKind.DEVICE_ID, device)
    sent = time.perf_counter()
    client.post("/v1/requests", json={"type": "opt_out", "identifiers": {"device_id": device}}).raise_for_status()
    deadline = sent + SAMPLE_TIMEOUT_S
    while ("ack", subject) not in watch.seen and time.perf_counter() < deadline:
        time.sleep(0.001)
    if ("ack", subject) not in watch.seen or ("state", subject) not in watch.seen:
        result.timeouts += 1
        return
    result.to_state.append(watch.seen[("state", subject)] - sent)
    result.to_ack.append(watch.seen[("ack", subject)] - sent)


def as_dict(result: Propagation) -> dict[str, Any]:
    return {"timeouts": result.timeouts, "background_sent": result.background_sent,
            "background_rate": result.background_rate}  # fmt: skip
