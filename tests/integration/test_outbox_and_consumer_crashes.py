"""Crashes at the worst moments lose nothing and duplicate nothing on the timeline (real Kafka + PostgreSQL)."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from devtools.demo.company import Customer
from devtools.local.pipeline import Pipeline, PipelineConfig
from services.common.faults import CRASH_EXIT_CODE
from services.common.topics import REQUESTS, TopicNames
from tests.support import read_topic, verified_delete, wait_for, wait_for_entries

pytestmark = pytest.mark.integration


def submit_with_retry_later(client: httpx.Client, url: str, key: str, body: dict[str, object]) -> str | None:
    """A client that may see the server die mid-request; it keeps the Idempotency-Key to retry later."""
    try:
        response = client.post(f"{url}/v1/requests", json=body, headers={"Idempotency-Key": key})
    except httpx.TransportError:
        return None
    return str(response.json()["request_id"]) if response.status_code == 202 else None


def requests_on_topic(config: PipelineConfig) -> list[bytes]:
    topic = TopicNames(config.topic_namespace)(REQUESTS)
    return [dict(m.headers() or []).get("event_id", b"") for m in read_topic(config.bootstrap_servers, topic)]


def count_rows(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def submit_until_intake_crashes(pipeline: Pipeline, bodies: dict[str, dict[str, object]], fault: str) -> None:
    """Starts audit and an intake that crashes at `fault`, and submits `bodies` until it has crashed."""
    pipeline.audit.start()
    pipeline.intake.start(extra_env={"CCPA_FAULTS": fault})
    with httpx.Client(timeout=10) as client:
        for key, body in bodies.items():
            submit_with_retry_later(client, pipeline.intake.url, key, body)
    assert pipeline.intake.wait_exit(30) == CRASH_EXIT_CODE


def resubmit_all(pipeline: Pipeline, bodies: dict[str, dict[str, object]]) -> dict[str, str]:
    with httpx.Client(timeout=10) as client:
        ids = {key: submit_with_retry_later(client, pipeline.intake.url, key, body) for key, body in bodies.items()}
    assert all(ids.values()), ids
    return {key: str(value) for key, value in ids.items()}


def duplicates_seen(pipeline: Pipeline) -> int:
    metrics = httpx.get(f"{pipeline.audit.url}/metrics", headers=pipeline.auth).text
    found = re.search(r'ccpa_consumer_messages_total\{[^}]*outcome="duplicate"[^}]*\} (\d+)', metrics)
    return int(found.group(1)) if found else 0


def assert_each_submitted_once(pipeline: Pipeline, request_ids: list[str]) -> None:
    with httpx.Client(timeout=10) as client:
        for request_id in request_ids:
            timeline = wait_for_entries(client, pipeline.audit.url, request_id, pipeline.auth, ["RequestSubmitted"])
            types = [entry["event_type"] for entry in timeline["entries"]]
            assert types.count("RequestSubmitted") == 1, types


def test_intake_killed_after_commit_before_publish_loses_nothing(
    pipeline_config: PipelineConfig, demo_customers: list[Customer]
) -> None:
    pipeline = Pipeline(pipeline_config)
    bodies = {f"crash-{i}": verified_delete(c) for i, c in enumerate(demo_customers[10:16])}
    try:
        submit_until_intake_crashes(pipeline, bodies, "outbox.before_publish")
        committed = count_rows(pipeline_config.intake_db_url, "requests")
        assert committed >= 1, "the crash must come after at least one commit"
        assert count_rows(pipeline_config.intake_db_url, "outbox") >= 1
        assert requests_on_topic(pipeline_config) == [], "nothing was published before the crash"

        pipeline.intake.start()
        ids = resubmit_all(pipeline, bodies)
        assert len(set(ids.values())) == len(bodies)
        assert_each_submitted_once(pipeline, list(ids.values()))
        assert count_rows(pipeline_config.intake_db_url, "requests") == len(bodies)
        wait_for(lambda: count_rows(pipeline_config.intake_db_url, "outbox") == 0, what="outbox drained")
    finally:
        pipeline.stop()


def test_intake_killed_after_publish_before_outbox_cleanup_duplicates_nothing(
    pipeline_config: PipelineConfig, demo_customers: list[Customer]
) -> None:
    pipeline = Pipeline(pipeline_config)
    bodies = {f"dup-{i}": verified_delete(c) for i, c in enumerate(demo_customers[20:24])}
    try:
        submit_until_intake_crashes(pipeline, bodies, "outbox.after_publish")
        pipeline.intake.start()
        ids = resubmit_all(pipeline, bodies)
        assert_each_submitted_once(pipeline, list(ids.values()))
        event_ids = requests_on_topic(pipeline_config)
        assert len(event_ids) > len(set(event_ids)), "the relay republished what it had sent before the crash"
    finally:
        pipeline.stop()


def test_consumer_killed_mid_batch_resumes_without_loss_or_double_effect(
    pipeline_config: PipelineConfig, demo_customers: list[Customer]
) -> None:
    pipeline = Pipeline(pipeline_config)
    bodies = {f"batch-{i}": verified_delete(c) for i, c in enumerate(demo_customers[30:42])}
    pipeline.intake.start()
    pipeline.audit.start(extra_env={"CCPA_FAULTS": "consumer.after_commit", "CCPA_FAULT_AFTER": "5"})
    try:
        ids = resubmit_all(pipeline, bodies)
        assert pipeline.audit.wait_exit(60) == CRASH_EXIT_CODE
        # The crash comes after the commit that took the count to 5: the events of one poll commit together, so
        # that commit may hold more than five; none of their offsets was stored.
        assert 5 <= count_rows(pipeline_config.audit_db_url, "timeline_entries") <= len(bodies)

        pipeline.audit.start()
        assert_each_submitted_once(pipeline, list(ids.values()))
        assert count_rows(pipeline_config.audit_db_url, "timeline_entries") == len(bodies)
        assert count_rows(pipeline_config.audit_db_url, "request_records") == len(bodies)
        # When that commit held all twelve, the counts above are right before the restarted consumer has read
        # anything: wait for it to meet the redelivered events and recognise them.
        wait_for(lambda: duplicates_seen(pipeline) >= 1, timeout=30, what="the redelivered events seen as duplicates")
    finally:
        pipeline.stop()
