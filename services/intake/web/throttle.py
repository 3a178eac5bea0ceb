"""A per-address limit on the Your Privacy Choices forms (the `limits` library, a moving window in memory): enough
for a person, too little for a script; the request forms keep per-identifier limits of their own."""

from __future__ import annotations

import math
import time

import limits
from fastapi import Request
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class AddressThrottle:
    """Counts POSTs per client address; `admit` answers None (go on) or the seconds to wait (429, Retry-After)."""

    def __init__(self, rate: str, scope: str = "privacy-choices") -> None:
        self.rate = limits.parse(rate)
        self.scope = scope
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def admit(self, request: Request) -> int | None:
        address = request.client.host if request.client else "unknown"
        if self.limiter.hit(self.rate, self.scope, address):
            return None
        reset_at, _remaining = self.limiter.get_window_stats(self.rate, self.scope, address)
        return max(1, math.ceil(reset_at - time.time()))
