"""Crypto-shredding after a verified deletion, end to end: the delete request's timeline says `KeysShredded`, the
sealed identifiers on privacy.requests no longer open, and the timeline, its §7101 record, the audit chain and the
request's proof bundle stay whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.crypto import KeyShredded, Sealed, Sealer
from services.common.serde import SingleObjectCodec
from services.common.topics import REQUESTS, TopicNames
from tests.e2e.demo_world import World, keystore_of, submit
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(full_world: World) -> World:
    return full_world


def ccpa(world: World, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *arguments], env=world.pipeline.env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def timeline_with(world: World, request_id: str, event_type: str) -> list[dict[str, Any]] | None:
    entries = world.timeline(request_id)
    return entries if any(entry["event_type"] == event_type for entry in entries) else None


def test_a_verified_deletion_shreds_the_key_on_the_timeline_and_the_proof_still_holds(
    world: World, tmp_path: Path
) -> None:
    customer = world.customers[36]
    body = {"verification": {"data_points": {"name": customer.full_name, "postal_code": customer.postal_code}}}
    request_id = submit(world, customer, "delete", **body)

    entries = wait_for(lambda: timeline_with(world, request_id, "KeysShredded"), timeout=120, what="KeysShredded")
    kinds = [entry["event_type"] for entry in entries]
    assert kinds.index("DeletionVerified") < kinds.index("DeletionCompleted") < kinds.index("KeysShredded")
    verified = next(entry for entry in entries if entry["event_type"] == "DeletionVerified")
    assert verified["details"]["verified"] is True
    [shredded] = [entry for entry in entries if entry["event_type"] == "KeysShredded"]
    details = shredded["details"]
    assert shredded["producer"] == "intake" and details["trigger"] == "deletion_completed"
    assert details["deletion_request_ids"] == [request_id] and details["keys"] == len(details["key_ids"]) >= 1

    topic = TopicNames(world.pipeline.config.topic_namespace)(REQUESTS)
    codec = SingleObjectCodec()
    on_topic = [codec.decode(m.value()) for m in read_topic(world.pipeline.config.bootstrap_servers, topic)]
    [submitted] = [e for e in on_topic if e.request_id == request_id and e.event_type == "RequestSubmitted"]
    sealed = Sealed.from_record(submitted.payload.identifiers)
    assert sealed.key_id in details["key_ids"]
    with pytest.raises(KeyShredded):
        Sealer(keystore_of(world)).open(sealed, submitted.subject_key, request_id)

    timeline = wait_for(lambda: world_timeline(world, request_id), what="the timeline with its record")
    record = timeline["record"]
    assert record["nature"] == "delete" and record["date_of_response"] and record["nature_of_response"]

    audit_db = ["--database-url", str(world.pipeline.config.audit_db_url)]
    verify = ccpa(world, "audit", "verify", *audit_db)
    assert verify.returncode == 0 and "audit chain intact" in verify.stdout, verify.stdout + verify.stderr
    bundle = tmp_path / "proof.json"
    exported = ccpa(world, "audit", "proof", request_id, "--output", str(bundle), *audit_db)
    assert exported.returncode == 0 and "KeysShredded" in bundle.read_text(), exported.stdout + exported.stderr
    checked = ccpa(world, "audit", "proof", "--check", str(bundle))
    assert checked.returncode == 0 and "the bundle holds" in checked.stdout, checked.stdout + checked.stderr


def world_timeline(world: World, request_id: str) -> dict[str, Any] | None:
    response = httpx.get(f"{world.pipeline.audit.url}/v1/requests/{request_id}/timeline", headers=world.pipeline.auth)
    body: dict[str, Any] = response.json()
    return body if response.status_code == 200 and body["record"]["date_of_response"] else None
