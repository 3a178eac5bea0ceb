"""The sender: a worker loop that POSTs due instructions, signed, and records every attempt; transient failures are
retried with exponential backoff and jitter, and every retry carries the same idempotency key.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from services.common.crypto import KeyShredded
from services.common.signing import sign
from services.deletion.providers.confirmations import StatusPoller, json_object
from services.deletion.providers.instructions import InstructionQueue, InstructionRow
from services.deletion.providers.model import (
    Answer,
    PollPolicy,
    ProviderConfigError,
    ProviderDirectory,
    RetryPolicy,
    State,
    Step,
    read_answer,
)

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def instruction_body(row: InstructionRow, payload: Mapping[str, Any]) -> bytes:
    """The JSON body of an instruction: the only place the consumer's identifiers travel."""
    document: dict[str, Any] = {
        "instruction_id": row.instruction_id,
        "request_id": row.request_id,
        "subject_ref": row.subject_ref,
        "kind": row.kind,
        "identifiers": payload["identifiers"],
        "deadline": row.deadline.isoformat(),
    }
    if row.kind == "correct":
        document["corrections"] = payload["corrections"]
    if row.callback_url:
        document["callback_url"] = row.callback_url
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class InstructionSender:
    """Sends due instructions; run one or several (leases keep them from sending the same one at once)."""

    def __init__(self, engine: sa.Engine, queue: InstructionQueue, directory: ProviderDirectory,
                 env: Mapping[str, str], policy: RetryPolicy | None = None, client: httpx.Client | None = None,
                 clock: Clock = utc_now, rng: random.Random | None = None, poller: StatusPoller | None = None,
                 batch_size: int = 50) -> None:  # fmt: skip
        self.engine = engine
        self.queue = queue
        self.directory = directory
        self.env = env
        self.policy = policy or RetryPolicy()
        self.client = client or httpx.Client()
        self.clock = clock
        self.rng = rng or random.Random()
        self.poller = poller
        self.poll_policy = poller.policy if poller else PollPolicy()
        self.batch_size = batch_size
        self.wakeup = threading.Event()

    def send_due(self) -> int:
        """One pass: every instruction due now gets one attempt. Returns how many were attempted."""
        with self.engine.begin() as conn:
            due = self.queue.claim_due(conn, self.clock(), self.batch_size, self.policy.lease_seconds)
        for row in due:
            self._record(row, self._attempt(row))
        return len(due)

    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """Until `stop` is set; `wakeup.set()` after enqueueing sends at once instead of after `idle_wait`."""
        while not stop.is_set():
            try:
                busy = self.send_due() + (self.poller.poll_due() if self.poller else 0)
            except Exception:
                log.exception("provider instruction pass failed; instructions stay queued and will be retried")
                stop.wait(1.0)
                continue
            if not busy:
                self.wakeup.wait(idle_wait)
                self.wakeup.clear()

    def close(self) -> None:
        self.client.close()

    def _attempt(self, row: InstructionRow) -> Answer:
        try:
            credentials = self.directory.credentials(row.recipient, self.env)
            body = instruction_body(row, self.queue.open_payload(row))
        except ProviderConfigError as exc:
            return Answer(Step.RETRY, detail=f"not sent: {exc}")
        except (KeyShredded, LookupError):
            return Answer(Step.FAILED, detail="not sent: the identifiers were crypto-shredded before delivery")
        url = httpx.URL(row.url or "")
        signed_at = self.clock().timestamp()
        headers = {
            "Authorization": f"Bearer {credentials.token}",
            "Content-Type": "application/json",
            **sign(credentials.signing_secret, "POST", url.raw_path.decode(), body, row.instruction_id, now=signed_at),
        }
        timeout = self.directory.endpoint(row.recipient).timeout_seconds
        try:
            response = self.client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            return Answer(Step.RETRY, detail=f"request failed ({type(exc).__name__})")
        return read_answer(response.status_code, json_object(response), response.headers.get("Retry-After"))

    def _record(self, row: InstructionRow, answer: Answer) -> None:
        now = self.clock()
        attempts = row.attempts + 1
        extra: dict[str, Any] = {"attempts": attempts}
        if answer.step is Step.RETRY and self.policy.exhausted(attempts):
            answer = Answer(Step.FAILED, None, f"gave up after {attempts} attempts; last: {answer.detail}",
                            answer.status_code)  # fmt: skip
        elif answer.step is Step.RETRY:
            delay = self.policy.delay(attempts, self.rng, answer.retry_after)
            extra["next_attempt_at"] = now + timedelta(seconds=delay)
        elif answer.step is Step.DELIVERED:
            extra["next_poll_at"] = now + timedelta(seconds=self.poll_policy.delay(0))
        with self.engine.begin() as conn:
            state = self.queue.apply(conn, row.instruction_id, answer, now, "send", extra)
        self._log(row, answer, state)

    @staticmethod
    def _log(row: InstructionRow, answer: Answer, state: State | None) -> None:
        fields = {"instruction_id": row.instruction_id, "request_id": row.request_id, "subject_key": row.subject_key,
                  "recipient": row.recipient, "kind": row.kind, "step": str(answer.step), "detail": answer.detail,
                  "state": str(state) if state else None}  # fmt: skip
        level = logging.WARNING if answer.step in (Step.RETRY, Step.FAILED) else logging.INFO
        log.log(level, "provider instruction attempt", extra=fields)
