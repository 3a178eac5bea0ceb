"""Helpers for tests that drive the pipeline: deadline polling, topic reading, request bodies, SQL store URLs."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from devtools.demo.company import Customer

T = TypeVar("T")
# The SQL servers a store test runs against: each a fresh database on the session's server, or a SQLite file.
SQL_BACKENDS = ("postgresql", "mariadb", "sqlite")
_SERVER_FIXTURES = {"postgresql": "pg_url", "mariadb": "mariadb_url"}


def sql_store_url(request: pytest.FixtureRequest, backend: str, sqlite_file: Any) -> str:
    """SQLAlchemy URL of an empty database on `backend` (one of SQL_BACKENDS)."""
    if backend == "sqlite":
        return f"sqlite:///{sqlite_file}"
    return str(request.getfixturevalue(_SERVER_FIXTURES[backend]))


def wait_for(probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> T:
    """Poll until probe returns something truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


NO_LEADER_YET = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError._UNKNOWN_PARTITION}


def watermarks(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    """Low and high watermarks, asked again while the partition has no leader yet (a topic just created)."""

    def ask() -> tuple[int, int] | None:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=10)
        except KafkaException as exc:
            if exc.args[0].code() in NO_LEADER_YET or exc.args[0].retriable():
                return None
            raise
        return low, high

    return wait_for(ask, what=f"watermarks of partition {partition.partition}", timeout=30)


def run_at_once(action: Callable[[T], object], targets: Sequence[T], timeout: float = 60.0) -> list[str]:
    """Runs `action` on every target at the same time, a thread each; what they raised, as short reprs (an
    assertion inside a thread would be lost)."""
    errors: list[str] = []

    def run(target: T) -> None:
        try:
            action(target)
        except Exception as exc:
            errors.append(repr(exc)[:300])

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return errors


def read_topic(bootstrap: str, topic: str, timeout: float = 20.0) -> list[Message]:
    """Every message currently on the topic, from the beginning to the high watermarks."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        marks = {partition: watermarks(consumer, TopicPartition(topic, partition)) for partition in metadata.partitions}
        ends = {partition: high for partition, (low, high) in marks.items() if high > low}
        consumer.assign([TopicPartition(topic, partition, marks[partition][0]) for partition in ends])
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=0.5):
                if message.error():
                    continue
                messages.append(message)
                if message.offset() + 1 >= ends.get(message.partition(), 0):
                    ends.pop(message.partition(), None)
        return messages
    finally:
        consumer.close()


def timeline(client: httpx.Client, audit_url: str, request_id: str, auth: dict[str, str]) -> dict[str, Any] | None:
    response = client.get(f"{audit_url}/v1/requests/{request_id}/timeline", headers=auth)
    return response.json() if response.status_code == 200 else None


def wait_for_entries(
    client: httpx.Client,
    audit_url: str,
    request_id: str,
    auth: dict[str, str],
    event_types: list[str],
    timeout: float = 30.0,
) -> dict[str, Any]:
    """The timeline once it holds at least the given event types (with multiplicity)."""
    seen: list[str] = []

    def complete() -> dict[str, Any] | None:
        found = timeline(client, audit_url, request_id, auth)
        if found is None:
            return None
        seen[:] = [entry["event_type"] for entry in found["entries"]]
        return found if all(seen.count(t) >= event_types.count(t) for t in set(event_types)) else None

    try:
        return wait_for(complete, timeout, what=f"timeline of {request_id} to hold {event_types}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it holds {seen}") from None


def verified_delete(customer: Customer) -> dict[str, Any]:
    return {
        "type": "delete",
        "channel": "web_form",
        "identifiers": {"email": customer.email},
        "verification": {"data_points": {"name": customer.full_name, "postal_code": customer.postal_code}},
    }


def verified_know_specific(customer: Customer) -> dict[str, Any]:
    return {
        "type": "know_specific",
        "channel": "web_form",
        "identifiers": {"email": customer.email},
        "verification": {
            "data_points": {
                "name": customer.full_name,
                "postal_code": customer.postal_code,
                "date_of_birth": customer.date_of_birth,
            },
            "signed_declaration": True,
        },
    }


SETTINGS_KEY = base64.b64encode(b"k" * 32).decode()
SETTINGS_SECRETS = {"CCPA_SUBJECT_KEY_SECRET": SETTINGS_KEY, "CCPA_MASTER_KEYS": json.dumps({"a": SETTINGS_KEY}),
                    "CCPA_ACTIVE_MASTER_KEY": "a"}  # fmt: skip


def settings_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CCPA_ variable but the keys every service's settings insist on: what a settings test starts from."""
    for name in [name for name in os.environ if name.startswith("CCPA_")]:
        monkeypatch.delenv(name)
    for name, value in SETTINGS_SECRETS.items():
        monkeypatch.setenv(name, value)
    return monkeypatch
