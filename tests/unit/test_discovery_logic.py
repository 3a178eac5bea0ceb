"""Pure discovery and delivery rules: which requests are walked, what a store outcome says, report links."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from services.common.datamap import parse_datamap
from services.common.payloads.requests import RequestSubmittedPayload
from services.common.stores.base import FoundRecord
from services.discovery.handlers import needs_discovery
from services.discovery.inventory import category_labels, found_outcome, inventory, unavailable_outcome
from services.intake.reports import LinkExpired, LinkInvalid, ReportLinks
from tests.nonsense import well_formed

DATAMAP = parse_datamap(
    """
business: Acme
stores:
  - name: app
    kind: sql
    url: sqlite://
    collections:
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
    env={},
)


def submitted(**overrides: Any) -> RequestSubmittedPayload:
    payload = {"request_type": "know_specific", "requested_type": "know_specific", "authorized_agent": False,
               "agent_permission_verified": False, "verification_outcome": "verified"}  # fmt: skip
    return dataclasses.replace(well_formed("RequestSubmitted").payload, **(payload | overrides))


@pytest.mark.parametrize("request_type", ["know_categories", "know_specific", "delete", "correct"])
def test_verified_know_delete_correct_are_discovered(request_type: str) -> None:
    assert needs_discovery(submitted(request_type=request_type, requested_type=request_type))


@pytest.mark.parametrize("request_type", ["opt_out", "limit", "opt_in"])
def test_opt_out_family_is_not_discovered(request_type: str) -> None:
    assert not needs_discovery(submitted(request_type=request_type, verification_outcome="not_required"))


def test_unverified_requests_are_not_discovered() -> None:
    assert not needs_discovery(submitted(request_type="delete", requested_type="delete", verification_outcome="failed"))


def test_know_specific_downgraded_to_categories_is_discovered() -> None:
    """§7024(a): not verified enough for specific pieces, answered as a categories request."""
    payload = submitted(request_type="know_categories", verification_outcome="insufficient")
    assert needs_discovery(payload)


def test_agent_without_permission_is_not_discovered() -> None:
    assert not needs_discovery(submitted(authorized_agent=True, agent_permission_verified=False))


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
        {"store": "app", "collection": "orders", "records": 1, "categories": ["D"]},
        {"store": "app", "collection": "users", "records": 1, "categories": ["A"]},
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
