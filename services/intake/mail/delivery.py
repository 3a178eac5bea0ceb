"""What one delivery attempt of a notice comes to (pure): sent, retrying with exponential backoff and jitter, or
failed (a permanent refusal, too many tries, or an address erased by a key shred)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.common.leases import retry_delay

ADDRESS_ERASED = "address erased"


@dataclass(frozen=True)
class Attempt:
    number: int  # 1 for the first try
    delivery: str  # sent | retrying | failed
    at: datetime
    detail: str | None = None
    next_attempt_at: datetime | None = None
    message_id: str | None = None

    @property
    def final(self) -> bool:
        return self.delivery != "retrying"

    def row_values(self) -> dict[str, Any]:
        """The notice row after this attempt."""
        status = {"sent": "sent", "retrying": "pending", "failed": "failed"}[self.delivery]
        return {"status": status, "attempts": self.number, "next_attempt_at": self.next_attempt_at or self.at,
                "last_detail": self.detail, "sent_at": self.at if self.delivery == "sent" else None,
                "message_id": self.message_id}  # fmt: skip


@dataclass(frozen=True)
class RetryPolicy:
    initial_seconds: float
    max_seconds: float
    max_attempts: int

    def delay(self, attempt: int, jitter: Callable[[], float] = random.random) -> timedelta:
        """After failed attempt `attempt`: doubling from the initial wait up to the longest, then between half of
        that and all of it at random, so notices failed together do not all come back together."""
        base = retry_delay(attempt - 1, self.initial_seconds, self.max_seconds)
        return base * (0.5 + 0.5 * jitter())

    def after_failure(self, attempt: int, detail: str, temporary: bool, now: datetime,
                      jitter: Callable[[], float] = random.random) -> Attempt:  # fmt: skip
        if not temporary or attempt >= self.max_attempts:
            reason = detail if not temporary else f"{detail}; gave up after {attempt} attempts"
            return Attempt(attempt, "failed", now, reason)
        return Attempt(attempt, "retrying", now, detail, now + self.delay(attempt, jitter))


def sent(attempt: int, message_id: str, now: datetime) -> Attempt:
    return Attempt(attempt, "sent", now, message_id=message_id)


def erased(attempt: int, now: datetime) -> Attempt:
    return Attempt(attempt, "failed", now, ADDRESS_ERASED)
