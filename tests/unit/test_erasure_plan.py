"""The erasure plan and its pure parts: ordering by references, strategy selection, retention ends, legal holds,
masking values, outcome serialisation and key derivation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from services.common.datamap import EXEMPTIONS, parse_datamap
from services.deletion.erasure.holds import LegalHold, hold_for
from services.deletion.erasure.keys import LEDGER_LABEL, derived_key, erasure_keys
from services.deletion.erasure.outcome import OutcomeTally, StoreOutcome
from services.deletion.erasure.plan import CollectionStep, FieldMask, Retention, add_duration, plan_erasure
from services.deletion.erasure.strategies import check_hmac_key, masked
from tests.datamaps import accounts_table, datamap_yaml, sql_store

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY = b"k" * 32
DATAMAP = parse_datamap(
    datamap_yaml(
        sql_store(
            "sqlite://",
            """\
      - name: order_items
        primary_key: [id]
        fields:
          - {name: id}
          - {name: order_id, references: orders.id}
          - {name: sku, category: D}
"""
            + accounts_table("customers", name_category="A", deletion="delete")
            + """\
      - name: orders
        primary_key: [id]
        timestamp_field: placed_at
        deletion: {strategy: retain, exemption: legal_obligation, retain_for: P7Y}
        fields:
          - {name: id, identifies: order_id}
          - {name: customer_id, references: customers.id, deletion: {strategy: "null"}}
          - {name: placed_at}
      - name: events
        primary_key: [id]
        fields:
          - {name: id}
          - {name: account_id, references: app.customers.id, deletion: {strategy: "null"}}
          - {name: device_id, identifies: device_id, category: A, deletion: {strategy: hmac}}
          - {name: page, category: F, deletion: {strategy: rewrite, rewrite_to: "/redacted"}}
          - {name: note, category: B, deletion: {strategy: delete}}
          - {name: city, category: G}
      - name: profiles
        primary_key: [email]
        deletion: {strategy: hash}
        fields:
          - {name: email, identifies: email, category: A}
          - {name: bio, category: B}
          - {name: nickname, category: A, deletion: {strategy: rewrite, rewrite_to: anonymous}}
          - {name: theme}
      - name: tickets
        primary_key: [id]
        timestamp_field: opened_at
        fields:
          - {name: id}
          - {name: account_id, references: customers.id}
          - {name: opened_at}
          - {name: body, category: B, deletion: {strategy: retain, exemption: debug_repair, retain_for: P1Y}}
      - name: archive
        not_searched_reason: kept only for legal claims
        fields: [{name: account_id, references: customers.id}]
""",
        ),
        """\
  - name: cache
    kind: redis
    url: redis://localhost/0
    collections:
      - name: carts
        key_pattern: "cart:{account_id}:{device_id}"
        fields: [{name: items, category: D}]
  - name: logs
    kind: jsonl
    collections:
      - name: access
        path: /var/log/app/access.log
        fields: [{name: account_id, references: app.customers.id}, {name: ip, category: A}]
  - name: mailer
    kind: http
    url: http://127.0.0.1:1
    collections:
      - name: contacts
        fields: [{name: email, identifies: email, category: A}]
""",
    )
)
EVERYTHING = {
    "email": frozenset({"ann@example.com"}),
    "account_id": frozenset({"7", "8"}),
    "order_id": frozenset({"100"}),
    "device_id": frozenset({"dev-1", "dev-2"}),
}


def steps(identifiers: dict[str, frozenset[str]] = EVERYTHING, store: str = "app") -> dict[str, CollectionStep]:
    plan = plan_erasure(DATAMAP, identifiers, now=NOW).store(store)
    assert plan is not None
    return {step.collection.name: step for step in plan.steps}


def test_children_come_before_the_tables_they_reference() -> None:
    order = list(steps())
    assert order.index("order_items") < order.index("orders") < order.index("customers")
    assert order.index("events") < order.index("customers")
    assert order.index("tickets") < order.index("customers")


def test_only_collections_an_identifier_can_match_are_planned() -> None:
    assert set(steps({"email": frozenset({"ann@example.com"})})) == {"customers", "profiles"}
    assert "archive" not in steps()  # §7024(c) archives are neither searched nor erased


def test_collection_deletion_applies_to_the_whole_record() -> None:
    planned = steps()
    assert planned["customers"].disposal == "delete"
    assert planned["order_items"].disposal == "delete"  # no deletion anywhere: matched rows are deleted
    orders = planned["orders"]
    assert orders.disposal == "retain"
    assert orders.retention == Retention("legal_obligation", "P7Y")
    assert orders.masks == (FieldMask("customer_id", "null", kind="account_id"),)


def test_field_deletions_de_identify_in_place() -> None:
    events = steps()["events"]
    assert events.disposal == "deidentify"
    assert {mask.field: mask.strategy for mask in events.masks} == {
        "account_id": "null", "device_id": "hmac", "page": "rewrite", "note": "null"}  # fmt: skip
    assert next(mask for mask in events.masks if mask.field == "page").rewrite_to == "/redacted"


def test_collection_masking_covers_pi_fields_except_the_key_and_field_overrides_win() -> None:
    profiles = steps()["profiles"]
    assert profiles.disposal == "deidentify"
    assert {mask.field: mask.strategy for mask in profiles.masks} == {"bio": "hash", "nickname": "rewrite"}


def test_a_retained_field_keeps_the_record_under_its_exemption() -> None:
    tickets = steps()["tickets"]
    assert tickets.disposal == "retain"
    assert tickets.retention == Retention("debug_repair", "P1Y")
    assert tickets.masks == ()


def test_match_fields_carry_the_identifier_values() -> None:
    matched = {(t.field.name, t.kind, t.values) for t in steps()["events"].match}
    assert matched == {("account_id", "account_id", ("7", "8")), ("device_id", "device_id", ("dev-1", "dev-2"))}


def test_redis_keys_are_every_combination_of_the_values() -> None:
    carts = steps(store="cache")["carts"]
    assert sorted(carts.keys) == ["cart:7:dev-1", "cart:7:dev-2", "cart:8:dev-1", "cart:8:dev-2"]


def test_provider_stores_are_not_erased_here_and_stores_can_be_chosen() -> None:
    plan = plan_erasure(DATAMAP, EVERYTHING, now=NOW)
    assert [p.store.name for p in plan.stores] == ["app", "cache", "logs"]
    assert [p.store.name for p in plan_erasure(DATAMAP, EVERYTHING, stores=["logs"]).stores] == ["logs"]


@pytest.mark.parametrize(
    ("start", "duration", "end"),
    [
        (datetime(2020, 3, 15, 9, tzinfo=UTC), "P7Y", datetime(2027, 3, 15, 9, tzinfo=UTC)),
        (datetime(2024, 1, 31, tzinfo=UTC), "P1M", datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2025, 8, 31, tzinfo=UTC), "P18M", datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), "P1Y", datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2026, 11, 1, tzinfo=UTC), "P90D", datetime(2027, 1, 30, tzinfo=UTC)),
        (datetime(2026, 1, 1, tzinfo=UTC), "P1Y2M3D", datetime(2027, 3, 4, tzinfo=UTC)),
    ],
)
def test_retention_end_adds_years_months_and_days(start: datetime, duration: str, end: datetime) -> None:
    assert add_duration(start, duration) == end


def test_retain_until_counts_from_the_record_or_from_now_and_lapsed_records_are_deleted() -> None:
    orders = steps()["orders"]
    placed = datetime(2024, 5, 1, tzinfo=UTC)
    assert orders.disposition(placed, NOW) == ("retained", datetime(2031, 5, 1, tzinfo=UTC))
    assert orders.disposition(None, NOW) == ("retained", datetime(2033, 11, 27, 12, 0, tzinfo=UTC))
    assert orders.disposition(datetime(2018, 1, 1, tzinfo=UTC), NOW) == ("deleted", None)
    assert steps()["events"].disposition(placed, NOW) == ("deidentified", None)
    assert steps()["customers"].disposition(placed, NOW) == ("deleted", None)


def test_retention_reports_the_statutory_text() -> None:
    assert Retention("legal_obligation", "P7Y").statute == EXEMPTIONS["legal_obligation"]


def test_a_subject_hold_covers_every_store_and_a_store_hold_only_its_store() -> None:
    subject = LegalHold("Smith v. Acme", subject_key="sk-ann")
    store = LegalHold("regulator inquiry", store="cache")
    both = LegalHold("fraud case", subject_key="sk-bob", store="logs")
    holds = [subject, store, both]
    plan = plan_erasure(DATAMAP, EVERYTHING, subject_key="sk-ann", holds=holds, now=NOW)
    assert {p.store.name: p.hold for p in plan.stores} == {"app": subject, "cache": subject, "logs": subject}
    plan = plan_erasure(DATAMAP, EVERYTHING, subject_key="sk-bob", holds=holds, now=NOW)
    assert {p.store.name: p.hold for p in plan.stores} == {"app": None, "cache": store, "logs": both}
    assert hold_for(holds, None, "app") is None


def test_a_hold_needs_a_reason_and_a_target() -> None:
    with pytest.raises(ValueError, match="reason"):
        LegalHold("  ", subject_key="sk")
    with pytest.raises(ValueError, match="subject_key, a store"):
        LegalHold("litigation")


def test_masks_null_rewrite_hash_and_hmac() -> None:
    assert masked(FieldMask("a", "null"), "x", KEY) is None
    assert masked(FieldMask("a", "rewrite", rewrite_to="gone"), "x", KEY) == "gone"
    email = FieldMask("email", "hash", kind="email")
    assert masked(email, " Ann@Example.COM", KEY) == hashlib.sha256(b"ann@example.com").hexdigest()
    device = FieldMask("device_id", "hmac", kind="device_id")
    assert masked(device, "dev-1", KEY) == hmac.new(KEY, b"dev-1", hashlib.sha256).hexdigest()
    assert masked(device, "dev-1", b"o" * 32) != masked(device, "dev-1", KEY)
    assert masked(FieldMask("note", "hash"), None, KEY) is None
    ip = FieldMask("ip", "hmac", kind="ip_address")
    once = masked(ip, "203.0.113.7", KEY)
    assert masked(ip, once, KEY) == once, "a replayed erasure does not hash a digest again (or null it)"
    assert masked(FieldMask("note", "hash"), once.upper(), KEY) != once.upper(), "only our lower-case digests"
    with pytest.raises(ValueError, match="at least 32 bytes"):
        check_hmac_key(b"short")


def test_outcome_round_trips_through_json_and_keeps_the_latest_retention_end() -> None:
    tally = OutcomeTally("app")
    tally.add("customers", "deleted", 2)
    tally.add("orders", "retained")
    tally.add("orders", "retained")
    for until in (datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC)):
        tally.exempted("orders", "legal_obligation", EXEMPTIONS["legal_obligation"], until)
    outcome = tally.outcome()
    assert outcome.counts == {"customers": {"deleted": 2}, "orders": {"retained": 2}}
    assert outcome.exempt[0].records == 2
    assert outcome.exempt[0].retain_until == datetime(2031, 6, 1, tzinfo=UTC)
    assert StoreOutcome.from_json(outcome.to_json()) == outcome
    assert outcome.total("deleted") == 2


def test_keys_come_from_their_variables_or_are_derived_from_the_service_secret() -> None:
    secret = base64.b64encode(b"s" * 32).decode()
    own = base64.b64encode(b"l" * 32).decode()
    derived = erasure_keys({"CCPA_SUBJECT_KEY_SECRET": secret})
    assert derived.ledger == derived_key(b"s" * 32, LEDGER_LABEL)
    assert derived.ledger != derived.deidentify
    assert erasure_keys({"CCPA_SUBJECT_KEY_SECRET": secret, "CCPA_LEDGER_KEY": own}).ledger == b"l" * 32
    assert "hidden" in repr(derived)
    with pytest.raises(ValueError, match="CCPA_LEDGER_KEY"):
        erasure_keys({})
