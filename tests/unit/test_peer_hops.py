"""The peer bench's hop breakdown (bench/hops.py): hops from the timeline's clocks and the client's, and the
non-store figure (every hop less the walk measured on its own)."""

from __future__ import annotations

from bench import hops


def _entry(event_type: str, at: str, **details: str) -> dict[str, object]:
    return {"event_type": event_type, "occurred_at": f"2026-12-02T10:00:{at}+00:00", "details": details}


TIMELINE = [
    _entry("RequestSubmitted", "00.010", received_at="2026-12-02T10:00:00.008+00:00"),
    _entry("DiscoveryStarted", "00.020"),
    _entry("StoreSearched", "00.050"),
    _entry("DiscoveryCompleted", "00.050"),
    _entry("ReportReady", "00.052"),
    _entry("DiscoveryStarted", "09.000"),  # a redelivery: the first of each type counts
]
SENT = hops._instant("2026-12-02T10:00:00.005+00:00")
SEEN = hops._instant("2026-12-02T10:00:00.070+00:00")


def test_each_hop_runs_from_one_clock_to_the_next() -> None:
    split = hops.split(TIMELINE, SENT, SEEN)
    assert {hop: round(seconds * 1000, 3) for hop, seconds in split.items()} == {
        "client → intake receipt (HTTP)": 3.0,
        "intake: verify + commit": 2.0,
        "relay → topic → discovery consumer (run opened)": 10.0,
        "worker claim + walk + report build and seal": 30.0,
        "report rows stored (ReportReady)": 2.0,
        "ReportReady → topic → intake applied → visible": 18.0,
    }


def test_the_non_store_figure_is_every_hop_less_the_walk() -> None:
    samples = [hops.split(TIMELINE, SENT, SEEN), hops.split(TIMELINE, SENT, SEEN + 0.010)]
    summary = hops.summary(samples, walk_s=0.012)
    assert round(summary["non_store_p50_ms"], 3) == 58.0  # (65 + 75) / 2 - 12
    assert round(summary["p50_ms"]["ReportReady → topic → intake applied → visible"], 3) == 23.0
    assert hops.summary([hops.split(TIMELINE[1:], SENT, SEEN)], 0.0)["p50_ms"].get("intake: verify + commit") is None
