"""Discovery's event builder: a walk's events are valid under their Avro schemas, at strictly increasing times."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.common.payloads.discovery import DiscoveryCompletedPayload, InventoryEntry, StoreSearchedPayload
from services.common.payloads.shared import EncryptedValue
from services.common.serde import SingleObjectCodec
from services.discovery.events import DiscoveryEvents, Ticker
from services.discovery.inventory import StoreOutcome
from services.discovery.runs import Run

CODEC = SingleObjectCodec()
SUBJECT = "5e" * 32
REQUEST = "00000000-0000-4000-8000-000000000001"


def test_a_walks_events_are_valid_and_strictly_ordered_in_time() -> None:
    run = Run(REQUEST, SUBJECT, "know_categories", {}, date(2026, 1, 1), None, datetime.now(UTC), 0)
    build = DiscoveryEvents(run)
    found = StoreOutcome("app", "sql", "found", 2, ("customers",), ("A",))
    events = [build.store_searched(found, 1, None),
              build.store_searched(StoreOutcome("logs", "jsonl", "unavailable", 0, reason="timeout"), 1,
                                   datetime.now(UTC)),
              build.discovery_completed(1, 2, [InventoryEntry(store="app", collection="customers", records=2,
                                                              categories=("A",))],
                                        EncryptedValue(key_id="dk-1", nonce=b"\x00" * 12, ciphertext=b"\x01" * 16)),
              build.request_completed("ready")]  # fmt: skip
    for event in events:
        decoded = CODEC.decode(CODEC.encode(event))
        assert (decoded.event_type, decoded.producer) == (event.event_type, "discovery")
    times = [event.occurred_at for event in events]
    assert times == sorted(times) and len(set(times)) == len(times)
    searched, unavailable, completed = events[0].payload, events[1].payload, events[2].payload
    assert isinstance(searched, StoreSearchedPayload) and isinstance(unavailable, StoreSearchedPayload)
    assert searched.retry_at is None and unavailable.retry_at is not None
    assert isinstance(completed, DiscoveryCompletedPayload) and completed.categories == ("A",)


def test_a_ticker_never_repeats_an_instant() -> None:
    tick = Ticker()
    instants = [tick() for _ in range(1000)]
    assert len(set(instants)) == len(instants) == 1000
