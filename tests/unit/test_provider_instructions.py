"""Unit tests of provider instructions: backoff, states, reading answers, the queue, the sender and callbacks
against a scripted HTTP transport, and the overdue list. The queue runs on a SQLite file."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from services.common.crypto import KeyStore, Sealer
from services.common.datamap import parse_datamap
from services.common.db import make_engine
from services.common.signing import MemoryNonceStore, SignedRequest, Verifier, sign
from services.deletion.providers.confirmations import CallbackHandler
from services.deletion.providers.instructions import TABLES, InstructionQueue, metadata
from services.deletion.providers.model import (
    TRANSITIONS,
    Endpoint,
    Notice,
    PollPolicy,
    ProviderConfigError,
    ProviderDirectory,
    RetryPolicy,
    State,
    Step,
    instruction_id_for,
    next_state,
    read_answer,
    read_status,
    subject_ref_for,
)
from services.deletion.providers.overdue import overdue
from services.deletion.providers.sender import InstructionSender

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUBJECT = "5a" * 32
ENV = {"MAILER_TOKEN": "bearer-1", "MAILER_SIGNING": "mailer-signing-secret"}
DIRECTORY = ProviderDirectory({
    "mailer": Endpoint("mailer", "service_provider", "https://mailer.test/privacy/v1/deletions",
                       "https://mailer.test/privacy/v1/corrections", "MAILER_TOKEN", "MAILER_SIGNING"),
    "brightlist": Endpoint("brightlist", "third_party",
                           disproportionate_effort="Brightlist ceased trading in 2025; no one can receive it."),
    "paybridge": Endpoint("paybridge", "service_provider"),
})  # fmt: skip


def notice(kind: str = "delete", request_id: str = "req-1", **changes: object) -> Notice:
    fields: dict[str, object] = {
        "request_id": request_id,
        "subject_key": SUBJECT,
        "kind": kind,
        "identifiers": {"email": ["ada@example.com"]},
        "deadline": NOW + timedelta(days=30),
    }
    if kind == "correct":
        fields["corrections"] = {"name": "Ada King"}
    return Notice(**{**fields, **changes})  # type: ignore[arg-type]


def test_backoff_doubles_to_its_cap_with_jitter_of_at_most_half() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60)
    assert [policy.ceiling(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    rng = random.Random(7)
    for attempt in range(1, 10):
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert policy.ceiling(attempt) / 2 <= min(delays) and max(delays) <= policy.ceiling(attempt)
        assert len(set(delays)) > 100  # jittered, so retries of many instructions spread out
    assert policy.delay(1, rng, retry_after=30) == 30
    assert policy.delay(1, rng, retry_after=600) == 60
    assert not policy.exhausted(1000) and RetryPolicy(max_attempts=3).exhausted(3)
    assert [PollPolicy(30, 3600).delay(n) for n in (0, 1, 2, 10)] == [30, 60, 120, 3600]


def test_states_move_forward_only() -> None:
    assert next_state(State.PENDING, Step.DELIVERED) is State.DELIVERED
    assert next_state(State.PENDING, Step.CONFIRMED) is State.CONFIRMED
    assert next_state(State.DELIVERED, Step.CONFIRMED) is State.CONFIRMED
    assert next_state(State.FAILED, Step.REQUEUED) is State.PENDING
    assert next_state(State.CONFIRMED, Step.DELIVERED) is None  # a late answer after the callback
    assert next_state(State.DELIVERED, Step.DELIVERED) is None
    assert next_state(State.MANUAL, Step.ATTESTED) is State.CONFIRMED
    for terminal in (State.CONFIRMED, State.NOT_NOTIFIED):
        assert not [step for state, step in TRANSITIONS if state is terminal]


@pytest.mark.parametrize(
    ("status", "body", "step", "confirmation"),
    [
        (202, {"status": "accepted", "confirmation_id": "del_1"}, Step.DELIVERED, "del_1"),
        (200, {"status": "completed", "confirmation_id": "del_2"}, Step.CONFIRMED, "del_2"),
        (200, None, Step.DELIVERED, None),
        (409, {"status": "duplicate", "confirmation_id": "del_3"}, Step.DELIVERED, "del_3"),
        (500, None, Step.RETRY, None),
        (503, None, Step.RETRY, None),
        (429, None, Step.RETRY, None),
        (408, None, Step.RETRY, None),
        (400, {"detail": "bad"}, Step.FAILED, None),
        (401, None, Step.FAILED, None),
        (422, {"detail": "unknown field(s) to correct: nickname"}, Step.FAILED, None),
    ],
)
def test_a_provider_answer_is_read(status: int, body: dict[str, str] | None, step: Step, confirmation: str | None
                                   ) -> None:  # fmt: skip
    answer = read_answer(status, body)
    assert (answer.step, answer.confirmation_id, answer.status_code) == (step, confirmation, status)


def test_a_failure_reason_never_quotes_personal_information() -> None:
    answer = read_answer(404, {"detail": "no contact ada@example.com"})
    assert answer.detail == "HTTP 404: no contact [email]"
    assert read_answer(503, None, retry_after="12").retry_after == 12


def test_a_status_poll_is_read() -> None:
    assert read_status(200, {"status": "completed", "confirmation_id": "c"}) is not None
    assert read_status(200, {"status": "accepted"}) is None
    assert read_status(404, {"detail": "unknown"}) is None
    failed = read_status(200, {"status": "failed", "reason": "account locked"})
    assert failed is not None and failed.step is Step.FAILED


def test_a_notice_is_checked() -> None:
    with pytest.raises(ValueError, match="at least one identifier"):
        notice(identifiers={"email": []})
    with pytest.raises(ValueError, match="needs `corrections`"):
        notice("correct", corrections={})
    with pytest.raises(ValueError, match="carries no `corrections`"):
        notice(corrections={"name": "x"})
    with pytest.raises(ValueError, match="timezone-aware"):
        notice(deadline=datetime(2026, 4, 1))


def test_ids_are_stable_and_subject_refs_differ_per_recipient() -> None:
    assert instruction_id_for("req-1", "delete", "mailer") == instruction_id_for("req-1", "delete", "mailer")
    assert instruction_id_for("req-1", "delete", "mailer") != instruction_id_for("req-1", "correct", "mailer")
    assert subject_ref_for(SUBJECT, "mailer") != subject_ref_for(SUBJECT, "shipper")
    assert SUBJECT not in subject_ref_for(SUBJECT, "mailer")


def test_the_directory_reads_endpoints_from_the_data_map() -> None:
    datamap = parse_datamap("""
business: Acme
recipients:
  - {name: mailer, role: service_provider, category: email, auth: {token_env: MAILER_TOKEN}}
  - {name: crm, role: contractor, category: crm, deletion_url: "https://crm.test/api/erasures"}
  - {name: adnet, role: third_party, category: ads, disproportionate_effort: "no contact since 2023"}
stores:
  - name: mailer-api
    kind: http
    url: https://mailer.test/
    recipient: mailer
    timeout_seconds: 3
    collections: [{name: contacts, fields: [{name: email, identifies: email, category: A}]}]
""", env={})  # fmt: skip
    directory = ProviderDirectory.from_datamap(datamap, {"mailer": "MAILER_SIGNING"})
    mailer = directory.endpoint("mailer")
    assert mailer.url_for("delete") == "https://mailer.test/privacy/v1/deletions"
    assert mailer.url_for("correct") == "https://mailer.test/privacy/v1/corrections"
    assert (mailer.timeout_seconds, mailer.signing_secret_env) == (3, "MAILER_SIGNING")
    crm = directory.endpoint("crm")
    assert (crm.url_for("delete"), crm.url_for("correct")) == ("https://crm.test/api/erasures", None)
    assert directory.endpoint("adnet").disproportionate_effort == "no contact since 2023"
    assert directory.credentials("mailer", {"MAILER_TOKEN": "t", "MAILER_SIGNING": "s"}).signing_secret == b"s"
    with pytest.raises(ProviderConfigError, match="MAILER_SIGNING is not set"):
        directory.credentials("mailer", {"MAILER_TOKEN": "t"})
    with pytest.raises(ProviderConfigError, match=r"no auth\.token_env is configured"):
        directory.credentials("crm", {})
    with pytest.raises(ProviderConfigError, match="unknown recipient 'nobody'"):
        directory.endpoint("nobody")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'deletion.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def keystore(engine: sa.Engine) -> KeyStore:
    return KeyStore(engine, {"kek": os.urandom(32)}, "kek")


@pytest.fixture
def queue(keystore: KeyStore) -> InstructionQueue:
    return InstructionQueue(Sealer(keystore))


def enqueue(engine: sa.Engine, queue: InstructionQueue, recipients: list[str], kind: str = "delete") -> list[str]:
    with engine.begin() as conn:
        return [p.instruction_id for p in queue.enqueue(conn, notice(kind), recipients, DIRECTORY, NOW)]


def test_enqueueing_plans_each_recipient_once_with_sealed_identifiers(engine: sa.Engine, queue: InstructionQueue
                                                                      ) -> None:  # fmt: skip
    with engine.begin() as conn:
        planned = queue.enqueue(conn, notice(), ["mailer", "brightlist", "paybridge", "mailer"], DIRECTORY, NOW)
    assert [(p.recipient, p.state) for p in planned] == [
        ("mailer", State.PENDING), ("brightlist", State.NOT_NOTIFIED), ("paybridge", State.MANUAL)]  # fmt: skip
    assert planned[1].reason == "Brightlist ceased trading in 2025; no one can receive it."
    assert planned[2].reason is not None and "no delete endpoint" in planned[2].reason
    with engine.begin() as conn:
        again = queue.enqueue(conn, notice(), ["mailer", "brightlist"], DIRECTORY, NOW + timedelta(hours=1))
        rows = queue.for_request(conn, "req-1")
        stored = json.dumps([dict(r._mapping) for r in conn.execute(sa.select(TABLES.instructions))], default=str)
    assert [p.instruction_id for p in again] == [p.instruction_id for p in planned[:2]]
    assert len(rows) == 3 and "ada@example.com" not in stored
    mailer = next(row for row in rows if row.recipient == "mailer")
    assert queue.open_payload(mailer)["identifiers"] == {"email": ["ada@example.com"]}


def scripted(*answers: httpx.Response | Exception, seen: list[httpx.Request]) -> httpx.Client:
    pending = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(transport=httpx.MockTransport(handle))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def sender_for(engine: sa.Engine, queue: InstructionQueue, client: httpx.Client, clock: Clock,
               env: dict[str, str] = ENV) -> InstructionSender:  # fmt: skip
    return InstructionSender(
        engine, queue, DIRECTORY, env, RetryPolicy(base_seconds=2), client, clock, random.Random(1)
    )


def state_of(engine: sa.Engine, queue: InstructionQueue, instruction_id: str) -> tuple[State, int]:
    with engine.connect() as conn:
        row = queue.find(conn, instruction_id)
    assert row is not None
    return row.state, row.attempts


def test_the_sender_retries_transient_failures_then_records_delivery(engine: sa.Engine, queue: InstructionQueue
                                                                     ) -> None:  # fmt: skip
    (instruction_id,) = enqueue(engine, queue, ["mailer"])
    seen: list[httpx.Request] = []
    client = scripted(
        httpx.ConnectError("refused"),
        httpx.Response(503),
        httpx.Response(202, json={"status": "accepted", "confirmation_id": "del_9"}),
        seen=seen,
    )
    clock = Clock()
    sender = sender_for(engine, queue, client, clock)
    assert sender.send_due() == 1 and state_of(engine, queue, instruction_id) == (State.PENDING, 1)
    assert sender.send_due() == 0  # not due before its backoff
    clock.now += timedelta(seconds=2)
    assert sender.send_due() == 1 and state_of(engine, queue, instruction_id) == (State.PENDING, 2)
    clock.now += timedelta(seconds=4)
    assert sender.send_due() == 1 and state_of(engine, queue, instruction_id) == (State.DELIVERED, 3)
    assert {r.headers["Idempotency-Key"] for r in seen} == {instruction_id}
    assert len({r.headers["X-CCPA-Signature"] for r in seen}) == 3  # signed afresh each time
    verifier = Verifier(MemoryNonceStore(), clock=lambda: NOW.timestamp())
    last = seen[-1]
    assert verifier.verify(b"mailer-signing-secret", SignedRequest("POST", last.url.raw_path.decode(), last.content,
                                                                   last.headers)) == instruction_id  # fmt: skip
    assert last.headers["Authorization"] == "Bearer bearer-1"
    body = json.loads(last.content)
    assert body["identifiers"] == {"email": ["ada@example.com"]} and "corrections" not in body
    assert "ada@example.com" not in json.dumps(dict(last.headers))
    with engine.connect() as conn:
        row = queue.find(conn, instruction_id)
        steps = conn.execute(sa.select(TABLES.attempts.c.step).order_by(TABLES.attempts.c.id)).scalars().all()
    assert row is not None and row.payload is None and row.confirmation_id == "del_9"  # identifiers dropped
    assert steps == ["retry", "retry", "delivered"]


def test_a_permanent_refusal_fails_and_a_requeue_sends_it_again(engine: sa.Engine, queue: InstructionQueue) -> None:
    (instruction_id,) = enqueue(engine, queue, ["mailer"], kind="correct")
    seen: list[httpx.Request] = []
    client = scripted(
        httpx.Response(422, json={"detail": "unknown field(s) to correct: name"}),
        httpx.Response(200, json={"status": "completed", "confirmation_id": "cor_1"}),
        seen=seen,
    )
    clock = Clock()
    sender = sender_for(engine, queue, client, clock)
    sender.send_due()
    assert state_of(engine, queue, instruction_id) == (State.FAILED, 1)
    with engine.begin() as conn:
        assert queue.requeue(conn, instruction_id, clock.now)
    sender.send_due()
    assert state_of(engine, queue, instruction_id) == (State.CONFIRMED, 2)
    assert json.loads(seen[0].content)["corrections"] == {"name": "Ada King"}
    assert seen[0].url.path == "/privacy/v1/corrections"


def test_missing_secrets_keep_it_queued_and_shredded_identifiers_fail_it(
    engine: sa.Engine, queue: InstructionQueue, keystore: KeyStore
) -> None:
    (instruction_id,) = enqueue(engine, queue, ["mailer"])
    clock = Clock()
    sender_for(engine, queue, scripted(seen=[]), clock, env={"MAILER_TOKEN": "t"}).send_due()
    assert state_of(engine, queue, instruction_id) == (State.PENDING, 1)
    keystore.shred_subject(SUBJECT)
    clock.now += timedelta(minutes=5)
    sender_for(engine, queue, scripted(seen=[]), clock).send_due()
    assert state_of(engine, queue, instruction_id) == (State.FAILED, 2)


def test_a_retry_budget_ends_in_failure(engine: sa.Engine, queue: InstructionQueue) -> None:
    (instruction_id,) = enqueue(engine, queue, ["mailer"])
    clock = Clock()
    sender = InstructionSender(engine, queue, DIRECTORY, ENV, RetryPolicy(max_attempts=1),
                               scripted(httpx.Response(500), seen=[]), clock)  # fmt: skip
    sender.send_due()
    assert state_of(engine, queue, instruction_id) == (State.FAILED, 1)


def callback(instruction_id: str, secret: bytes = b"mailer-signing-secret", status: str = "completed",
             key: str = "k-1", now: float | None = None) -> Callable[[CallbackHandler], tuple[int, str]]:  # fmt: skip
    body = json.dumps({"instruction_id": instruction_id, "status": status, "confirmation_id": "del_5"}).encode()
    headers = sign(secret, "POST", "/privacy/v1/provider-confirmations", body, key, now=now)

    def post(handler: CallbackHandler) -> tuple[int, str]:
        reply = handler.handle("POST", "/privacy/v1/provider-confirmations", body, headers)
        return reply.status_code, str(reply.body.get("state", reply.body.get("detail")))

    return post


def test_a_signed_callback_confirms_and_a_forged_one_is_refused(engine: sa.Engine, queue: InstructionQueue) -> None:
    instruction_id, _, manual = enqueue(engine, queue, ["mailer", "brightlist", "paybridge"])
    handler = CallbackHandler(engine, queue, DIRECTORY, ENV)
    assert callback(instruction_id, secret=b"forged")(handler) == (401, "signature does not match the request")
    assert callback("00000000-0000-4000-8000-000000000000")(handler)[0] == 404
    assert callback("unknown")(handler)[0] == 400, "not an instruction id at all"
    assert handler.handle("POST", "/x", b"[]", {}).status_code == 400
    assert callback(instruction_id, status="accepted")(handler) == (202, "pending")
    post = callback(instruction_id, key="k-2")
    assert post(handler) == (200, "confirmed")
    assert post(handler) == (401, "replayed request: this signature was already used")
    assert callback(instruction_id, key="k-2", now=time.time() + 2)(handler) == (
        409,
        "this idempotency key was received before",
    )
    assert callback(manual)(handler)[0] == 503  # paybridge has no secret to verify with
    with engine.begin() as conn:
        assert queue.confirm_manually(conn, manual, "ticket-123", NOW)
    assert state_of(engine, queue, manual)[0] is State.CONFIRMED


def test_a_callback_while_the_database_is_unreachable_is_answered_503_so_the_provider_sends_it_again(
    engine: sa.Engine, queue: InstructionQueue, tmp_path: Path
) -> None:
    (instruction_id,) = enqueue(engine, queue, ["mailer"])
    unreachable = sa.create_engine(f"sqlite:///{tmp_path}/no-such-folder/deletion.db")
    assert callback(instruction_id)(CallbackHandler(unreachable, queue, DIRECTORY, ENV))[0] == 503
    assert callback(instruction_id, now=time.time() + 2)(CallbackHandler(engine, queue, DIRECTORY, ENV)) == (
        200,
        "confirmed",
    )


def test_overdue_lists_unconfirmed_instructions_once(engine: sa.Engine, queue: InstructionQueue) -> None:
    mailer, _, paybridge = enqueue(engine, queue, ["mailer", "brightlist", "paybridge"])
    with engine.begin() as conn:
        assert overdue(conn, NOW + timedelta(days=29)) == []
        late = overdue(conn, NOW + timedelta(days=31))
        assert overdue(conn, NOW + timedelta(days=32)) == []
    assert {(item.instruction_id, item.state) for item in late} == {(mailer, State.PENDING),
                                                                    (paybridge, State.MANUAL)}  # fmt: skip
    assert all(item.subject_key == SUBJECT and item.request_id == "req-1" for item in late)
