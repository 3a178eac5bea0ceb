"""Lock-out: so many wrong passwords in a row lock an account for a while; while locked even the right password is
refused; a sign-in that succeeds starts the count again. Pure rules: the store counts atomically (signin.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    failures: int  # wrong passwords in a row that lock the account
    duration: timedelta  # how long the lock lasts

    def is_locked(self, locked_until: datetime | None, now: datetime) -> bool:
        return locked_until is not None and now < locked_until

    def locks(self, failures_in_a_row: int) -> bool:
        """Whether this many wrong passwords in a row (this one counted) lock the account now."""
        return failures_in_a_row >= self.failures

    def locked_until(self, now: datetime) -> datetime:
        return now + self.duration

    def minutes(self) -> int:
        """The lock's length in whole minutes, as the sign-in page tells it (at least one)."""
        return max(1, round(self.duration.total_seconds() / 60))


def lock_message(policy: LockoutPolicy) -> str:
    """What the sign-in page says while an account is locked: no count of tries, no time left to the second."""
    return (f"This account is locked for a while after too many wrong passwords. Try again in about "
            f"{policy.minutes()} minutes, or ask an administrator.")  # fmt: skip
