"""Pure discovery and delivery rules: what a store outcome says, report links (which requests are walked:
tests/unit/test_acting.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from services.common.datamap import parse_datamap
from services.common.payloads.discovery import InventoryEntry
from services.common.stores.base import FoundRecord
from services.discovery.inventory import category_labels, found_outcome, inventory, unavailable_outcome
from services.intake.reports import LinkExpired, LinkInvalid, ReportLinks
from tests.datamaps import datamap_yaml, sql_store

DATAMAP = parse_datamap(
    datamap_yaml(
        sql_store(
            "sqlite://",
            """\
      - name: users
        fields:
          - {name: id, identifies: account_id, category: A}
          - {name: email, identifies: email, category: A}
          - {name: lat, category: L, sensitive: precise_geolocation}
          - {name: internal_flag}
      - name: orders
        fields:
          - {name: user_id, references: users.id}
          - {name: total, category: D}
""",
        )
    ),
    env={},
)


def record(collection: str, **values: Any) -> FoundRecord:
    return FoundRecord("app", collection, f"{collection}:1", values)


def test_categories_count_only_fields_holding_a_value() -> None:
    records = [
        record("users", id=1, email="", lat=37.7749, internal_flag=True),
        record("orders", user_id=1, total=None),
    ]
    assert category_labels(DATAMAP, records) == ("A", "L:precise_geolocation")


def test_store_outcomes_and_inventory_carry_counts_not_values() -> None:
    store = DATAMAP.stores[0]
    records = [record("users", id=1, email="a@example.com"), record("orders", user_id=1, total=12)]
    outcome = found_outcome(DATAMAP, store, records)
    assert (outcome.outcome, outcome.records, outcome.collections) == ("found", 2, ("orders", "users"))
    assert outcome.categories == ("A", "D")
    assert found_outcome(DATAMAP, store, []).outcome == "none"
    down = unavailable_outcome(store, "connection refused")
    assert (down.outcome, down.reason) == ("unavailable", "connection refused")
    entries = inventory(DATAMAP, records)
    assert entries == [
        InventoryEntry(store="app", collection="orders", records=1, categories=("D",)),
        InventoryEntry(store="app", collection="users", records=1, categories=("A",)),
    ]
    assert "a@example.com" not in repr(outcome) + repr(entries)


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LINKS = ReportLinks(b"k" * 32, "https://privacy.example.com/")


def signed(request_id: str, expires_at: datetime) -> tuple[int, str]:
    query = parse_qs(urlsplit(LINKS.links(request_id, expires_at, ["json"])["json"]).query)
    return int(query["expires"][0]), query["signature"][0]


def test_link_is_bound_to_its_request_and_expiry() -> None:
    links = LINKS.links("req-1", NOW + timedelta(days=14), ["json", "csv", "html"])
    assert set(links) == {"json", "csv", "html"}
    assert links["csv"].startswith("https://privacy.example.com/v1/requests/req-1/report?format=csv&expires=")
    expires, signature = signed("req-1", NOW + timedelta(days=14))
    LINKS.verify("req-1", expires, signature, NOW)
    with pytest.raises(LinkInvalid):
        LINKS.verify("req-2", expires, signature, NOW)
    with pytest.raises(LinkInvalid):
        LINKS.verify("req-1", expires + 86400, signature, NOW)
    with pytest.raises(LinkExpired):
        LINKS.verify("req-1", expires, signature, NOW + timedelta(days=15))


def test_link_key_depends_on_the_service_secret() -> None:
    other = ReportLinks(b"x" * 32, "https://privacy.example.com")
    assert other.signature("req-1", 100) != LINKS.signature("req-1", 100)
