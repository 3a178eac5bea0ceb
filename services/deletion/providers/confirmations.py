"""Confirmations from providers: a signed callback they POST when done, and polling of their status endpoint for
instructions delivered but not yet confirmed. Either records confirmed_at; whichever comes first wins.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from services.common.signing import DuplicateRequest, SignatureRejected, SignedRequest, SqlNonceStore, Verifier, sign
from services.deletion.providers.instructions import InstructionQueue, InstructionRow
from services.deletion.providers.model import (
    Answer,
    PollPolicy,
    ProviderConfigError,
    ProviderDirectory,
    Step,
    read_status,
)

log = logging.getLogger(__name__)
CALLBACK_PATH = "/privacy/v1/provider-confirmations"
MAX_CALLBACK_BYTES = 64 * 1024  # a confirmation is a few hundred bytes; a larger body is refused unread
CALLBACK_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["instruction_id", "status"],
        "properties": {"instruction_id": {"type": "string"}, "status": {"type": "string",
                       "enum": ["completed", "failed", "rejected"]}, "confirmation_id": {"type": "string"}},
    }}},
}  # fmt: skip
CALLBACK_ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"description": "Read, but it reports no outcome yet; nothing changed"},
    400: {"description": "Not a JSON object with a string instruction_id"},
    401: {"description": "Unsigned, badly signed, stale or replayed"},
    404: {"description": "No instruction has this instruction_id"},
    409: {"description": "This Idempotency-Key was received before; not applied again"},
    413: {"description": f"Body over {MAX_CALLBACK_BYTES} bytes"},
    503: {"description": "No signing secret is configured for this provider, or the store is unavailable"},
}
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: dict[str, Any]


class CallbackHandler:
    """Verifies a provider's signed callback with that recipient's secret, then records what it reports."""

    def __init__(self, engine: sa.Engine, queue: InstructionQueue, directory: ProviderDirectory,
                 env: Mapping[str, str], verifier: Verifier | None = None, clock: Clock = utc_now) -> None:  # fmt: skip
        self.engine = engine
        self.queue = queue
        self.directory = directory
        self.env = env
        self.verifier = verifier or Verifier(SqlNonceStore(engine, queue.tables.nonces))
        self.clock = clock

    def handle(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        report = _report(body)
        if report is None:
            return Reply(400, {"detail": 'expected JSON {"instruction_id": ..., "status": "completed", ...}'})
        try:
            return self._receive(method, path, body, headers, report)
        except (sa.exc.OperationalError, sa.exc.TimeoutError):
            # Nothing was recorded and the nonce was not spent (same transaction): the provider's retry can land.
            return Reply(503, {"detail": "deletion store unavailable; nothing was recorded, send it again"})

    def _receive(self, method: str, path: str, body: bytes, headers: Mapping[str, str],
                 report: Mapping[str, Any]) -> Reply:  # fmt: skip
        with self.engine.begin() as conn:
            row = self.queue.find(conn, report["instruction_id"])
            if row is None:
                return Reply(404, {"detail": "unknown instruction_id"})
            try:
                secret = self.directory.credentials(row.recipient, self.env).signing_secret
                self.verifier.verify(secret, SignedRequest(method, path, body, headers), row.recipient, conn)
            except ProviderConfigError as exc:
                log.error("provider callback cannot be verified: %s", exc)
                return Reply(503, {"detail": "not configured to verify this provider's signature"})
            except SignatureRejected as exc:
                return Reply(401, {"detail": exc.reason})
            except DuplicateRequest:
                return Reply(409, {"status": "duplicate", "detail": "this idempotency key was received before"})
            return self._record(conn, row, report)

    def _record(self, conn: sa.Connection, row: InstructionRow, report: Mapping[str, Any]) -> Reply:
        answer = read_status(200, report)
        if answer is None:
            return Reply(202, {"status": "noted", "state": row.state})
        state = self.queue.apply(conn, row.instruction_id, _via(answer, "callback"), self.clock(), "callback")
        return Reply(200, {"status": "received", "state": state or row.state})


def callback_router(handler: CallbackHandler, path: str = CALLBACK_PATH) -> APIRouter:
    """The route providers POST their confirmations to; the deletion service includes it in its app."""
    router = APIRouter(tags=["provider confirmations"])

    @router.post(path, responses=CALLBACK_ANSWERS, openapi_extra={"requestBody": CALLBACK_BODY})
    async def provider_confirmation(request: Request) -> JSONResponse:
        """A provider's signed report that it carried out (or could not carry out) an instruction."""
        body = await _bounded_body(request)
        if body is None:
            return JSONResponse({"detail": f"a confirmation is at most {MAX_CALLBACK_BYTES} bytes"}, status_code=413)
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()  # as signed: undecoded
        target = raw_path.decode() + (f"?{request.url.query}" if request.url.query else "")
        reply = await run_in_threadpool(handler.handle, request.method, target, body, request.headers)
        return JSONResponse(reply.body, status_code=reply.status_code)

    return router


async def _bounded_body(request: Request) -> bytes | None:
    """The body, or None as soon as it is known to exceed MAX_CALLBACK_BYTES (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CALLBACK_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_CALLBACK_BYTES:
            return None
    return bytes(body)


class StatusPoller:
    """Asks `GET {instruction url}/{instruction_id}` for delivered instructions that have not been confirmed."""

    def __init__(self, engine: sa.Engine, queue: InstructionQueue, directory: ProviderDirectory,
                 env: Mapping[str, str], client: httpx.Client | None = None, policy: PollPolicy | None = None,
                 clock: Clock = utc_now, batch_size: int = 50, lease_seconds: float = 60.0) -> None:  # fmt: skip
        self.engine = engine
        self.queue = queue
        self.directory = directory
        self.env = env
        self.client = client or httpx.Client()
        self.policy = policy or PollPolicy()
        self.clock = clock
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds

    def poll_due(self) -> int:
        with self.engine.begin() as conn:
            due = self.queue.claim_polls(conn, self.clock(), self.batch_size, self.lease_seconds)
        for row in due:
            answer = self._ask(row)
            now = self.clock()
            extra = {"polls": row.polls + 1, "next_poll_at": now + timedelta(seconds=self.policy.delay(row.polls + 1))}
            with self.engine.begin() as conn:
                self.queue.apply(conn, row.instruction_id, answer, now, "poll", extra)
        return len(due)

    def _ask(self, row: InstructionRow) -> Answer:
        try:
            credentials = self.directory.credentials(row.recipient, self.env)
        except ProviderConfigError as exc:
            return Answer(Step.RETRY, detail=f"not polled: {exc}")
        url = httpx.URL(f"{row.url}/{row.instruction_id}")
        signature = sign(credentials.signing_secret, "GET", url.raw_path.decode(), b"", now=self.clock().timestamp())
        headers = {"Authorization": f"Bearer {credentials.token}", **signature}
        timeout = self.directory.endpoint(row.recipient).timeout_seconds
        try:
            response = self.client.get(url, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            return Answer(Step.RETRY, detail=f"poll failed ({type(exc).__name__})")
        answer = read_status(response.status_code, json_object(response))
        waiting = Answer(Step.RETRY, detail=f"HTTP {response.status_code}: not completed yet",
                         status_code=response.status_code)  # fmt: skip
        return _via(answer, "poll") if answer else waiting

    def close(self) -> None:
        self.client.close()


def _report(body: bytes) -> dict[str, Any] | None:
    try:
        report = json.loads(body)
    except ValueError:
        return None
    if not isinstance(report, dict) or not _is_instruction_id(report.get("instruction_id")):
        return None
    return report


def _is_instruction_id(value: object) -> bool:
    """Instruction ids are the UUIDs we sent (a NUL or a 10 kB string never reaches the database)."""
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _via(answer: Answer, channel: str) -> Answer:
    return Answer(answer.step, answer.confirmation_id, f"{answer.detail} ({channel})"[:300], answer.status_code)


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The response body when it is a JSON object, else None (a provider answering HTML or a list)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
