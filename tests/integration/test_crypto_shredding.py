"""Crypto-shredding through the CLI: identifiers already on the topic become unreadable everywhere, and the
operator's shred is published (`KeysShredded`, who and why)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import sqlalchemy as sa
from confluent_kafka import Message
from cryptography.exceptions import InvalidTag

from devtools.local.pipeline import Pipeline
from services.common.crypto import KeyShredded, KeyStore, Sealed, Sealer
from services.common.events import Event
from services.common.serde import SingleObjectCodec
from services.common.settings import decode_key
from services.common.topics import REQUESTS, TopicNames
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.integration


def sealer_of(pipeline: Pipeline) -> Sealer:
    import json

    masters = {kid: decode_key(v, kid) for kid, v in json.loads(pipeline.secrets["CCPA_MASTER_KEYS"]).items()}
    engine = sa.create_engine(pipeline.config.keystore_url)
    return Sealer(KeyStore(engine, masters, pipeline.secrets["CCPA_ACTIVE_MASTER_KEY"]))


def test_shredding_a_subject_makes_its_identifiers_on_the_topic_unreadable(pipeline: Pipeline) -> None:
    with httpx.Client(timeout=10) as client:
        response = client.post(f"{pipeline.intake.url}/v1/requests",
                               json={"type": "opt_out", "identifiers": {"email": "shred.me@example.com"}})  # fmt: skip
    request_id = response.json()["request_id"]
    topic = TopicNames(pipeline.config.topic_namespace)(REQUESTS)

    def submitted() -> Message | None:  # the relay publishes after the 202: wait for it
        on_topic = read_topic(pipeline.config.bootstrap_servers, topic)
        return next((m for m in on_topic if dict(m.headers() or []).get("request_id") == request_id.encode()), None)

    message = wait_for(submitted, what="the request's event on the topic")
    event = SingleObjectCodec().decode(message.value())
    sealed, sealer = Sealed.from_record(event.payload.identifiers), sealer_of(pipeline)
    assert sealer.open(sealed, event.subject_key, request_id) == {"email": "shred.me@example.com"}
    with pytest.raises(InvalidTag):
        sealer.open(sealed, event.subject_key, "another-request")

    command = ["keys", "shred", event.subject_key, "--operator", "ops-jane", "--reason", "ticket:OPS-42"]
    result = subprocess.run([sys.executable, "-m", "services.cli", *command],
                            env=pipeline.env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0 and "shredded 1 data key" in result.stdout, result.stdout + result.stderr
    with pytest.raises(KeyShredded):
        sealer.open(sealed, event.subject_key, request_id)

    def shredded() -> Event | None:  # the operator's shred is accountable: on the topic, so on audit's timeline
        on_topic = [SingleObjectCodec().decode(m.value()) for m in read_topic(pipeline.config.bootstrap_servers, topic)]
        return next((e for e in on_topic if e.event_type == "KeysShredded"), None)

    event_of_shred = wait_for(shredded, what="KeysShredded on the topic")
    assert (event_of_shred.request_id, event_of_shred.subject_key, event_of_shred.producer) == (
        None, event.subject_key, "operator")  # fmt: skip
    payload = event_of_shred.payload
    assert (payload.trigger, payload.operator, payload.reason) == ("operator", "ops-jane", "ticket:OPS-42")
    assert payload.key_ids == (sealed.key_id,) and payload.deletion_request_ids == ()


def test_a_shred_by_hand_refuses_an_identifier_as_operator_or_subject_without_repeating_it() -> None:
    def shred(subject_key: str, operator: str) -> subprocess.CompletedProcess[str]:
        command = ["keys", "shred", subject_key, "--operator", operator, "--reason", "test"]
        return subprocess.run([sys.executable, "-m", "services.cli", *command], capture_output=True, text=True,
                              timeout=60)  # fmt: skip

    refused = shred("a" * 64, "jane@example.com")
    assert refused.returncode == 2 and "never an e-mail" in refused.stderr and "jane@" not in refused.stderr
    malformed = shred("someone@example.com", "ops-jane")
    assert malformed.returncode == 2 and "64 lower-case hex" in malformed.stderr
    assert "someone@" not in malformed.stdout + malformed.stderr
