"""The demo providers' side of the instruction protocol (docs/providers.md): verify bearer token and signature,
apply each instruction once per Idempotency-Key, answer `accepted`, confirm by signed callback, answer polls.
What an instruction does to the provider's records is the `Applier` the provider passes in.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import httpx
import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common import faults
from services.common.http import ApiToken
from services.common.signing import (
    DEFAULT_TOLERANCE_SECONDS,
    IDEMPOTENCY_HEADER,
    DuplicateRequest,
    SignatureRejected,
    SignedRequest,
    SqlNonceStore,
    Verifier,
    nonce_table,
    sign,
)

MAX_VALUES = 1000
CALLBACK_ATTEMPTS = 4
CALLBACK_TIMEOUT_SECONDS = 5.0
privacy_metadata = sa.MetaData()
received_instructions = sa.Table(
    "privacy_instructions",
    privacy_metadata,
    sa.Column("instruction_id", sa.String(64), primary_key=True),  # also the Idempotency-Key
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("confirmation_id", sa.String(40), nullable=False),
    sa.Column("records_affected", sa.Integer, nullable=False),
    sa.Column("received_at", sa.String(20), nullable=False),
    sa.Column("completed_at", sa.String(20)),
    sa.Column("callback_status", sa.String(12)),  # sent, refused, failed; None without a callback_url
)
request_log = sa.Table(  # every instruction POST seen, applied or not: shows that a retry was not applied twice
    "privacy_request_log",
    privacy_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("path", sa.String(200), nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=False),
    sa.Column("received_at", sa.String(20), nullable=False),
)
seen_nonces = nonce_table(privacy_metadata, "privacy_nonces")


class ReceivedInstruction(BaseModel):
    model_config = ConfigDict(extra="ignore")

    instruction_id: str = Field(min_length=1, max_length=64)
    request_id: str = Field(max_length=64)
    subject_ref: str = Field(max_length=64)
    kind: Literal["delete", "correct"]
    identifiers: dict[str, Annotated[list[str], Field(max_length=MAX_VALUES)]]
    corrections: dict[str, str] = Field(default_factory=dict)
    callback_url: str | None = Field(default=None, max_length=1000)


class Refused(Exception):
    """Answer `status_code` with `body` and roll back: nothing is applied, no nonce is spent."""

    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail") or body.get("status"))
        self.status_code = status_code
        self.body = body


Applier = Callable[[sa.Connection, ReceivedInstruction], int]  # records deleted or corrected; may raise Refused


class InstructionReceiver:
    def __init__(self, engine: sa.Engine, applier: Applier, signing_secret: str,
                 tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> None:  # fmt: skip
        self.engine = engine
        self.applier = applier
        self.secret = signing_secret.encode()
        self.verifier = Verifier(SqlNonceStore(engine, seen_nonces), tolerance_seconds)
        # one client for every callback: building one costs ~20 ms of CPU (its TLS context), more than the POST
        self.client = httpx.Client(timeout=CALLBACK_TIMEOUT_SECONDS)

    def close(self) -> None:
        self.client.close()

    def receive(self, kind: str, request: SignedRequest) -> tuple[int, dict[str, Any], ReceivedInstruction | None]:
        self._log(request)
        try:
            with self.engine.begin() as conn:
                instruction = self._admit(conn, kind, request)
                receipt = self._apply(conn, instruction)
        except Refused as refused:
            return refused.status_code, refused.body, None
        faults.crash_if("provider.after_apply")  # applied and committed, the answer lost: the retry must get 409
        answer = {"status": "accepted", "instruction_id": instruction.instruction_id,
                  "confirmation_id": receipt["confirmation_id"]}  # fmt: skip
        return 202, answer, instruction

    def status(self, instruction_id: str, request: SignedRequest) -> tuple[int, dict[str, Any]]:
        try:
            with self.engine.begin() as conn:
                self._verify(conn, request)
                receipt = self._receipt(conn, instruction_id)
        except Refused as refused:
            return refused.status_code, refused.body
        return (200, receipt) if receipt else (404, {"detail": "unknown instruction_id"})

    def confirm(self, instruction: ReceivedInstruction) -> None:
        """POST a signed confirmation to the instruction's callback_url, retried a few times with backoff."""
        with self.engine.connect() as conn:
            body = json.dumps(self._receipt(conn, instruction.instruction_id)).encode()
        url = httpx.URL(instruction.callback_url or "")
        key = f"{instruction.instruction_id}:completed"
        outcome = "failed"
        for attempt in range(CALLBACK_ATTEMPTS):
            headers = {
                "Content-Type": "application/json",
                **sign(self.secret, "POST", url.raw_path.decode(), body, key),
            }
            code = self._post_status(url, body, headers)
            if code is not None and 400 <= code < 500 and code != 409:
                outcome = "refused"
                break
            if code is not None and code < 500:
                outcome = "sent"
                break
            time.sleep(0.5 * 2**attempt)
        with self.engine.begin() as conn:
            conn.execute(sa.update(received_instructions).values(callback_status=outcome)
                         .where(received_instructions.c.instruction_id == instruction.instruction_id))  # fmt: skip

    def _admit(self, conn: sa.Connection, kind: str, request: SignedRequest) -> ReceivedInstruction:
        self._verify(conn, request)
        try:
            instruction = ReceivedInstruction.model_validate_json(request.body)
        except ValidationError as exc:
            first = exc.errors()[0]  # loc and message only: the input may be personal information
            raise Refused(422, {"detail": f"{'.'.join(map(str, first['loc']))}: {first['msg']}"}) from None
        if instruction.kind != kind:
            raise Refused(422, {"detail": f"kind must be {kind!r} at this endpoint"})
        if request.header(IDEMPOTENCY_HEADER) != instruction.instruction_id:
            raise Refused(400, {"detail": f"{IDEMPOTENCY_HEADER} must equal the body's instruction_id"})
        if self._receipt(conn, instruction.instruction_id):  # received before, beyond the replay window
            raise Refused(409, self._duplicate(conn, instruction.instruction_id))
        return instruction

    def _verify(self, conn: sa.Connection, request: SignedRequest) -> None:
        if not self.secret:
            raise Refused(503, {"detail": "no signing secret configured; instructions cannot be verified"})
        try:
            self.verifier.verify(self.secret, request, conn=conn)
        except SignatureRejected as exc:
            raise Refused(401, {"detail": exc.reason}) from None
        except DuplicateRequest as exc:
            raise Refused(409, self._duplicate(conn, exc.idempotency_key)) from None

    def _apply(self, conn: sa.Connection, instruction: ReceivedInstruction) -> dict[str, Any]:
        affected = self.applier(conn, instruction)
        now = _now()
        receipt = {"instruction_id": instruction.instruction_id, "kind": instruction.kind, "status": "completed",
                   "confirmation_id": f"{instruction.kind[:3]}_{uuid.uuid4().hex[:16]}", "records_affected": affected,
                   "received_at": now, "completed_at": now}  # fmt: skip
        conn.execute(sa.insert(received_instructions).values(receipt))
        return receipt

    @staticmethod
    def _receipt(conn: sa.Connection, instruction_id: str) -> dict[str, Any] | None:
        table = received_instructions
        row = conn.execute(sa.select(table).where(table.c.instruction_id == instruction_id)).mappings().first()
        return {key: value for key, value in row.items() if key != "callback_status"} if row else None

    def _duplicate(self, conn: sa.Connection, instruction_id: str) -> dict[str, Any]:
        receipt = self._receipt(conn, instruction_id) or {}
        return {"status": "duplicate", "instruction_id": instruction_id,
                "confirmation_id": receipt.get("confirmation_id"), "state": receipt.get("status")}  # fmt: skip

    def _post_status(self, url: httpx.URL, body: bytes, headers: Mapping[str, str]) -> int | None:
        try:
            return self.client.post(url, content=body, headers=headers).status_code
        except httpx.HTTPError:
            return None

    def _log(self, request: SignedRequest) -> None:
        key = (request.header(IDEMPOTENCY_HEADER) or "")[:64]
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(request_log).values(path=request.path[:200], idempotency_key=key, received_at=_now())
            )


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


async def raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def signed_request(request: Request, body: bytes) -> SignedRequest:
    """The request as signed: the path as sent on the wire, plus `?query` when there is one."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    target = raw_path.decode() + (f"?{request.url.query}" if request.url.query else "")
    return SignedRequest(request.method, target, body, request.headers)


def instruction_router(receiver: InstructionReceiver) -> APIRouter:
    router = APIRouter(prefix="/privacy/v1", tags=["privacy instructions"])

    def receive(kind: str, request: Request, body: bytes, tasks: BackgroundTasks) -> JSONResponse:
        code, answer, instruction = receiver.receive(kind, signed_request(request, body))
        if instruction is not None and instruction.callback_url:
            tasks.add_task(receiver.confirm, instruction)
        return JSONResponse(answer, status_code=code)

    @router.post("/deletions", status_code=202)
    def deletions(request: Request, body: RawBody, _token: ApiToken, tasks: BackgroundTasks) -> JSONResponse:
        """Delete every record the identifiers find; signed, applied once per Idempotency-Key."""
        return receive("delete", request, body, tasks)

    @router.post("/corrections", status_code=202)
    def corrections(request: Request, body: RawBody, _token: ApiToken, tasks: BackgroundTasks) -> JSONResponse:
        """Correct fields of every record the identifiers find; signed, applied once per Idempotency-Key."""
        return receive("correct", request, body, tasks)

    @router.get("/deletions/{instruction_id}")
    @router.get("/corrections/{instruction_id}")
    def instruction_status(instruction_id: str, request: Request, body: RawBody, _token: ApiToken) -> JSONResponse:
        """Whether an instruction was carried out, with its confirmation id (a signed GET)."""
        code, answer = receiver.status(instruction_id, signed_request(request, body))
        return JSONResponse(answer, status_code=code)

    return router
