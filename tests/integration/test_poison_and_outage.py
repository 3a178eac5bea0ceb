"""Poison messages go to the DLQ with diagnostics while the consumer keeps going; a store outage loses nothing."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Producer

from devtools.local.pipeline import Pipeline, PipelineConfig
from devtools.localstack import PostgresServer, free_port
from services.common.serde import SINGLE_OBJECT_MARKER, SingleObjectCodec
from services.common.topics import DLQ, FAILURES, REQUESTS, TopicNames
from tests.support import read_topic, wait_for, wait_for_entries

pytestmark = pytest.mark.integration


def produce_raw(bootstrap: str, topic: str, value: bytes, headers: list[tuple[str, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, key=b"a" * 64, value=value, headers=headers)
    assert producer.flush(10) == 0


def test_poison_messages_are_dead_lettered_and_the_consumer_continues(pipeline: Pipeline) -> None:
    names = TopicNames(pipeline.config.topic_namespace)
    bootstrap = pipeline.config.bootstrap_servers
    garbage_request, unknown_schema_request = str(uuid.uuid4()), str(uuid.uuid4())
    produce_raw(
        bootstrap,
        names(REQUESTS),
        b"\x00not avro at all",
        [("request_id", garbage_request.encode()), ("event_type", b"RequestSubmitted")],
    )
    produce_raw(
        bootstrap,
        names(REQUESTS),
        SINGLE_OBJECT_MARKER + b"\x01" * 8 + b"\x02body",
        [("request_id", unknown_schema_request.encode())],
    )
    with httpx.Client(timeout=10) as client:
        after = client.post(
            f"{pipeline.intake.url}/v1/requests",
            json={"type": "opt_out", "identifiers": {"email": "after.poison@example.com"}},
        )
        wait_for_entries(client, pipeline.audit.url, after.json()["request_id"], pipeline.auth, ["RequestSubmitted"])
        failed = wait_for_entries(client, pipeline.audit.url, garbage_request, pipeline.auth, ["RequestFailed"])
        wait_for_entries(client, pipeline.audit.url, unknown_schema_request, pipeline.auth, ["RequestFailed"])

    dead = read_topic(bootstrap, names(DLQ))
    assert len(dead) == 2
    headers = dict(dead[0].headers() or [])
    assert headers["dlq.source.topic"] == names(REQUESTS).encode()
    assert headers["dlq.consumer.group"] == b"ccpa-audit"
    assert headers["dlq.error.class"] == b"DecodeError"
    assert {"dlq.source.partition", "dlq.source.offset", "dlq.error.message", "dlq.failed.at"} <= set(headers)
    assert {m.value() for m in dead} == {
        b"\x00not avro at all",
        SINGLE_OBJECT_MARKER + b"\x01" * 8 + b"\x02body",
    }
    details = failed["entries"][0]["details"]
    assert details["source_topic"] == names(REQUESTS) and details["error_class"] == "DecodeError"
    failures = [SingleObjectCodec().decode(m.value()) for m in read_topic(bootstrap, names(FAILURES))]
    assert sorted(e.request_id or "" for e in failures) == sorted([garbage_request, unknown_schema_request])


def test_audit_store_outage_keeps_the_event_pending_until_recovery(pipeline_config: PipelineConfig) -> None:
    """Transient failure: bounded retries with backoff, nothing dead-lettered, applied once the store is back."""
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="ccpa-outage-pg-")), port=free_port())
    server.start()
    try:
        audit_db = server.create_database("audit_outage")
        pipeline = Pipeline(dataclasses.replace(pipeline_config, audit_db_url=audit_db))
        pipeline.start()
        try:
            run_outage(pipeline, server)
        finally:
            pipeline.stop()
    finally:
        server.stop()
        shutil.rmtree(server.base_dir, ignore_errors=True)  # a data folder per run would pile up in /tmp


def run_outage(pipeline: Pipeline, server: PostgresServer) -> None:
    with httpx.Client(timeout=10) as client:
        server.stop()
        wait_for(lambda: client.get(f"{pipeline.audit.url}/readyz").status_code == 503, what="audit not ready")
        response = client.post(
            f"{pipeline.intake.url}/v1/requests",
            json={"type": "opt_out", "identifiers": {"email": "outage@example.com"}},
        )
        request_id = response.json()["request_id"]
        retried = wait_for(lambda: _retries(client, pipeline) >= 2, timeout=30, what="retries with backoff")
        assert retried
        assert (
            client.get(f"{pipeline.audit.url}/v1/requests/{request_id}/timeline", headers=pipeline.auth).status_code
            == 503
        )
        server.start()
        timeline = wait_for_entries(
            client, pipeline.audit.url, request_id, pipeline.auth, ["RequestSubmitted"], timeout=60
        )
    assert [e["event_type"] for e in timeline["entries"]] == ["RequestSubmitted"]
    names = TopicNames(pipeline.config.topic_namespace)
    assert read_topic(pipeline.config.bootstrap_servers, names(DLQ)) == []


def _retries(client: httpx.Client, pipeline: Pipeline) -> int:
    for line in client.get(f"{pipeline.audit.url}/metrics", headers=pipeline.auth).text.splitlines():
        if line.startswith("ccpa_consumer_messages_total") and 'outcome="retried"' in line:
            return int(float(line.rsplit(" ", 1)[1]))
    return 0
