"""Deletion and correction instructions to the demo providers running under uvicorn, queued in PostgreSQL: delivered
once per idempotency key through outages, crashes and sender restarts, confirmed by callback or polling."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from devtools.demo.generator import DATAMAP_PATH
from devtools.demo.providers import PROVIDER_METADATA, provider_app, signing_secret_env, token_env
from devtools.demo.sinks import SqlWriter
from devtools.demo.subjects import Subject, iter_subjects
from devtools.demo.traces import mailer_rows, shipper_rows
from devtools.localstack import free_port
from services.common.crypto import KeyStore, Sealer
from services.common.datamap import DataMap, load_datamap
from services.common.db import make_engine
from services.common.signing import sign
from services.deletion.providers.confirmations import CALLBACK_PATH, CallbackHandler, StatusPoller, callback_router
from services.deletion.providers.instructions import InstructionQueue, InstructionRow, metadata
from services.deletion.providers.model import Kind, Notice, PollPolicy, ProviderDirectory, RetryPolicy, State
from services.deletion.providers.sender import InstructionSender
from tests.support import wait_for

pytestmark = pytest.mark.integration
NAMES = ("mailer", "shipper")
SECRETS = {**{token_env(n): f"{n}-token" for n in NAMES}, **{signing_secret_env(n): f"{n}-signing" for n in NAMES}}
SUBJECTS = list(iter_subjects(12, 7))
ADA, OTHER = SUBJECTS[0], SUBJECTS[5]  # both held by the mailer and the shipper


class Served:
    """An app under uvicorn in a thread, on a fixed port so it can be stopped and started again."""

    def __init__(self, build: Callable[[], FastAPI], port: int) -> None:
        self.build, self.port = build, port
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        self.server = uvicorn.Server(uvicorn.Config(self.build(), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server is not None and self.server.started, timeout=20, what=f"uvicorn on {self.port}")
        return self

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
        self.server = self.thread = None


def provider_data(directory: Path, name: str) -> Path:
    path = directory / f"{name}.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    PROVIDER_METADATA[name].create_all(engine)
    engine.dispose()
    with SqlWriter(f"sqlite:///{path}", PROVIDER_METADATA[name]) as write:
        for subject in SUBJECTS:
            (mailer_rows if name == "mailer" else shipper_rows)(subject, write)
    return path


@dataclass
class Providers:
    data: dict[str, Path]
    served: dict[str, Served]

    def access(self, name: str, subject: Subject) -> list[dict[str, Any]]:
        response = httpx.post(f"{self.served[name].url}/privacy/v1/access",
                              json={"identifiers": {"email": [subject.email], "account_id": [subject.account_id]}},
                              headers={"Authorization": f"Bearer {name}-token"})  # fmt: skip
        assert response.status_code == 200
        records: list[dict[str, Any]] = response.json()["records"]
        return records

    def count(self, name: str, table: str, key: str | None = None) -> int:
        engine = sa.create_engine(f"sqlite:///{self.data[name]}")
        column = "idempotency_key" if table == "privacy_request_log" else "instruction_id"
        where = f" WHERE {column} = :key" if key else ""
        with engine.connect() as conn:
            count = int(conn.execute(sa.text(f"SELECT count(*) FROM {table}{where}"), {"key": key}).scalar_one())
        engine.dispose()
        return count


@pytest.fixture
def providers(tmp_path: Path) -> Iterator[Providers]:
    data = {name: provider_data(tmp_path, name) for name in NAMES}
    served = {name: Served(_app_builder(name, data[name]), free_port()).start() for name in NAMES}
    yield Providers(data, served)
    for server in served.values():
        server.stop()


def _app_builder(name: str, data: Path) -> Callable[[], FastAPI]:
    return lambda: provider_app(name, data, f"{name}-token", f"{name}-signing")


def demo_datamap(providers: Providers, **recipient_changes: dict[str, str]) -> DataMap:
    env = {
        "DEMO_APP_DB_URL": "sqlite://",
        "DEMO_MARKETING_DB_URL": "sqlite://",
        "DEMO_REDIS_URL": "redis://x",
        "DEMO_LOG_DIR": "/nonexistent",
        **{f"DEMO_{n.upper()}_URL": providers.served[n].url for n in NAMES},
    }
    datamap = load_datamap(DATAMAP_PATH, env)
    recipients = tuple(r.model_copy(update=recipient_changes.get(r.name, {})) for r in datamap.recipients)
    return datamap.model_copy(update={"recipients": recipients})


@dataclass
class Deletion:
    """The deletion service's side: its database, queue, sender, poller and callback endpoint."""

    engine: sa.Engine
    queue: InstructionQueue
    directory: ProviderDirectory
    sender: InstructionSender
    callback_url: str

    def enqueue(self, subject: Subject, recipients: list[str], kind: Kind = "delete", callback: bool = True,
                corrections: dict[str, str] | None = None) -> list[str]:  # fmt: skip
        identifiers = {"email": [subject.email], "account_id": [subject.account_id]}
        notice = Notice(str(uuid.uuid4()), f"{subject.index:064x}", kind, identifiers,
                        datetime.now(UTC) + timedelta(days=45), corrections or {},
                        self.callback_url if callback else None)  # fmt: skip
        with self.engine.begin() as conn:
            return [p.instruction_id for p in self.queue.enqueue(conn, notice, recipients, self.directory)]

    def rows_of_request(self, instruction_id: str) -> dict[str, InstructionRow]:
        """Every instruction of the request `instruction_id` belongs to, by recipient."""
        with self.engine.connect() as conn:
            row = self.queue.find(conn, instruction_id)
            assert row is not None
            return {row.recipient: row for row in self.queue.for_request(conn, row.request_id)}

    def state(self, instruction_id: str) -> State:
        with self.engine.connect() as conn:
            row = self.queue.find(conn, instruction_id)
        assert row is not None
        return row.state


def build_deletion(url: str, datamap: DataMap, callback_url: str, first_poll: float = 5.0) -> Deletion:
    """New objects over the same database: what a restarted deletion service builds."""
    engine = make_engine(url)
    queue = InstructionQueue(Sealer(KeyStore(engine, {"kek": b"k" * 32}, "kek")))
    directory = ProviderDirectory.from_datamap(datamap, {n: signing_secret_env(n) for n in NAMES})
    poller = StatusPoller(engine, queue, directory, SECRETS, policy=PollPolicy(first_poll, first_poll))
    policy = RetryPolicy(base_seconds=1, cap_seconds=2, lease_seconds=5)
    sender = InstructionSender(engine, queue, directory, SECRETS, policy, poller=poller)
    return Deletion(engine, queue, directory, sender, callback_url)


@pytest.fixture
def deletion(pg_url: str, providers: Providers) -> Iterator[Deletion]:
    engine = make_engine(pg_url)
    metadata.create_all(engine)
    engine.dispose()
    port = free_port()
    built = build_deletion(pg_url, demo_datamap(providers), f"http://127.0.0.1:{port}{CALLBACK_PATH}")
    handler = CallbackHandler(built.engine, built.queue, built.directory, SECRETS)
    callbacks = FastAPI()
    callbacks.include_router(callback_router(handler))
    served = Served(lambda: callbacks, port).start()
    yield built
    served.stop()
    built.engine.dispose()


def test_a_deletion_is_delivered_confirmed_by_callback_and_the_records_are_gone(
    providers: Providers, deletion: Deletion
) -> None:
    assert providers.access("mailer", ADA) and providers.access("shipper", ADA)
    stop = threading.Event()
    worker = threading.Thread(target=deletion.sender.run, args=(stop, 0.1), daemon=True)
    worker.start()
    try:
        ids = deletion.enqueue(ADA, ["mailer", "shipper"])
        deletion.sender.wakeup.set()
        wait_for(lambda: all(deletion.state(i) is State.CONFIRMED for i in ids), timeout=30, what="confirmations")
    finally:
        stop.set()
        worker.join(timeout=10)
    assert providers.access("mailer", ADA) == [] and providers.access("shipper", ADA) == []
    assert providers.access("mailer", OTHER) and providers.access("shipper", OTHER)
    for name, instruction_id in zip(NAMES, ids, strict=True):
        assert providers.count(name, "privacy_instructions", instruction_id) == 1
    with deletion.engine.connect() as conn:
        channels = conn.execute(sa.text("SELECT channel, step FROM provider_instruction_attempts")).all()
    assert sorted(channels) == [("callback", "confirmed")] * 2 + [("send", "delivered")] * 2, channels
    rows = deletion.rows_of_request(ids[0]).values()
    assert all(row.confirmation_id and row.confirmed_at and row.payload is None for row in rows)


def test_a_provider_down_then_up_applies_it_once_and_a_restarted_sender_loses_nothing(
    pg_url: str, providers: Providers, deletion: Deletion
) -> None:
    providers.served["mailer"].stop()
    (instruction_id,) = deletion.enqueue(ADA, ["mailer"], callback=False)
    assert deletion.sender.send_due() == 1 and deletion.state(instruction_id) is State.PENDING
    deletion.engine.dispose()  # the sender goes away; only the database remembers
    providers.served["mailer"].start()
    restarted = build_deletion(pg_url, demo_datamap(providers), deletion.callback_url, first_poll=0.2)
    try:
        wait_for(lambda: restarted.sender.send_due() and restarted.state(instruction_id) is State.DELIVERED,
                 timeout=20, what="delivery after the outage")  # fmt: skip
        poller = restarted.sender.poller
        assert poller is not None
        wait_for(lambda: poller.poll_due() and restarted.state(instruction_id) is State.CONFIRMED,
                 timeout=20, what="a polled confirmation")  # fmt: skip
    finally:
        restarted.engine.dispose()
    assert providers.count("mailer", "privacy_request_log", instruction_id) == 1
    assert providers.count("mailer", "privacy_instructions", instruction_id) == 1
    assert providers.access("mailer", ADA) == []


def test_an_answer_lost_after_the_provider_applied_it_is_not_applied_again(
    tmp_path: Path, providers: Providers, deletion: Deletion
) -> None:
    providers.served["shipper"].stop()
    port, data = providers.served["shipper"].port, providers.data["shipper"]
    crashing = run_provider("shipper", port, data, tmp_path / "crash.log", {"CCPA_FAULTS": "provider.after_apply"})
    (instruction_id,) = deletion.enqueue(ADA, ["shipper"], callback=False)
    deletion.sender.send_due()
    assert crashing.wait(timeout=20) == 86 and deletion.state(instruction_id) is State.PENDING
    healthy = run_provider("shipper", port, data, tmp_path / "shipper.log")
    try:
        wait_for(lambda: deletion.sender.send_due() and deletion.state(instruction_id) is State.DELIVERED,
                 timeout=20, what="the retry to be answered 409")  # fmt: skip
        assert providers.access("shipper", ADA) == []
    finally:
        healthy.terminate()
        healthy.wait(timeout=10)
    assert providers.count("shipper", "privacy_request_log", instruction_id) == 2
    assert providers.count("shipper", "privacy_instructions", instruction_id) == 1
    with deletion.engine.connect() as conn:
        details = conn.execute(sa.text("SELECT detail FROM provider_instruction_attempts ORDER BY id")).scalars().all()
    assert details[-1] == "HTTP 409: already received"


def run_provider(name: str, port: int, data: Path, log: Path, extra: dict[str, str] | None = None
                 ) -> subprocess.Popen[bytes]:  # fmt: skip
    env = {**os.environ, **SECRETS, **(extra or {})}
    command = [
        sys.executable,
        "-m",
        "devtools.demo.providers",
        "--name",
        name,
        "--port",
        str(port),
        "--data",
        str(data),
    ]
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), timeout=30, what=f"provider {name} to start")
    return process


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_replayed_stale_or_forged_instruction_is_refused(providers: Providers) -> None:
    url = f"{providers.served['mailer'].url}/privacy/v1/deletions"
    key = str(uuid.uuid4())
    body = (f'{{"instruction_id":"{key}","request_id":"r","subject_ref":"s","kind":"delete",'
            f'"identifiers":{{"email":["{ADA.email}"]}}}}').encode()  # fmt: skip

    def post(secret: str = "mailer-signing", now: float | None = None, token: str = "mailer-token",
             headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
        signed = headers or sign(secret.encode(), "POST", "/privacy/v1/deletions", body, key, now=now)
        return httpx.post(url, content=body, headers={"Authorization": f"Bearer {token}", **signed})

    first_headers = sign(b"mailer-signing", "POST", "/privacy/v1/deletions", body, key)
    assert post(secret="guess").status_code == 401
    assert post(now=time.time() - 600).json()["detail"].endswith("s window; check clocks")
    assert post(token="wrong").status_code == 401
    accepted = post(headers=first_headers)
    assert accepted.status_code == 202 and accepted.json()["status"] == "accepted"
    replayed = post(headers=first_headers)
    assert (replayed.status_code, replayed.json()["detail"]) == (
        401,
        "replayed request: this signature was already used",
    )
    again = post(now=time.time() + 1)
    assert again.status_code == 409
    assert again.json()["confirmation_id"] == accepted.json()["confirmation_id"]
    assert providers.count("mailer", "privacy_instructions", key) == 1


def test_a_recipient_not_worth_notifying_is_told_nothing_and_the_reason_is_kept(
    pg_url: str, providers: Providers, deletion: Deletion
) -> None:
    reason = "Brightlist ceased trading in 2025 and left no successor; there is no one to receive the notice."
    datamap = demo_datamap(providers, brightlist={"disproportionate_effort": reason})
    effort = build_deletion(pg_url, datamap, deletion.callback_url)
    try:
        mailer, _, _ = effort.enqueue(ADA, ["mailer", "brightlist", "paybridge"])
        assert effort.sender.send_due() == 1
        rows = effort.rows_of_request(mailer)
    finally:
        effort.engine.dispose()
    assert (rows["brightlist"].state, rows["brightlist"].reason) == (State.NOT_NOTIFIED, reason)
    assert rows["brightlist"].payload is None and rows["brightlist"].url is None
    assert rows["paybridge"].state is State.MANUAL  # no endpoint: someone must instruct it, and it stays tracked
    assert rows["mailer"].state in (State.DELIVERED, State.CONFIRMED)


def test_a_correction_is_applied_at_the_provider(providers: Providers, deletion: Deletion) -> None:
    (mailer,) = deletion.enqueue(ADA, ["mailer"], kind="correct", corrections={"contacts.name": "Barbara T. Ada"})
    (shipper,) = deletion.enqueue(ADA, ["shipper"], kind="correct", corrections={"recipient_name": "Barbara T. Ada"})
    deletion.sender.send_due()
    wait_for(lambda: {deletion.state(mailer), deletion.state(shipper)} == {State.CONFIRMED}, timeout=20,
             what="confirmed corrections")  # fmt: skip
    contacts = [r for r in providers.access("mailer", ADA) if r["collection"] == "contacts"]
    assert contacts and all(r["values"]["name"] == "Barbara T. Ada" for r in contacts)
    shipments = providers.access("shipper", ADA)
    assert shipments and all(r["values"]["recipient_name"] == "Barbara T. Ada" for r in shipments)
    assert all(r["values"]["recipient_name"] != "Barbara T. Ada" for r in providers.access("shipper", OTHER))
    (refused,) = deletion.enqueue(OTHER, ["mailer"], kind="correct", corrections={"nickname": "x"})
    deletion.sender.send_due()
    assert deletion.state(refused) is State.FAILED
