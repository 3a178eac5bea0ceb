"""Small statistics over latency samples (stdlib only)."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    """Percentiles of a sample in seconds; `count` is the number of samples."""

    count: int
    p50: float
    p99: float
    mean: float
    maximum: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(samples: list[float]) -> Summary:
    """p50/p99 by linear interpolation (statistics.quantiles, inclusive); zeros for an empty sample."""
    if not samples:
        return Summary(0, 0.0, 0.0, 0.0, 0.0)
    if len(samples) == 1:
        return Summary(1, samples[0], samples[0], samples[0], samples[0])
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return Summary(len(samples), cuts[49], cuts[98], statistics.fmean(samples), max(samples))
