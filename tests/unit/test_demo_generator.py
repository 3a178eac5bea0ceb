"""The demo company's content, without any store: determinism, presence rules, card numbers, the ground truth."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pytest

from devtools.demo import company, schema
from devtools.demo.generator import DATAMAP_PATH, DemoTarget, demo_env
from devtools.demo.planted import DECOYS, DETECTOR_KINDS, PLANTED_PI, UNMAPPED_COLLECTIONS
from devtools.demo.providers import PROVIDER_METADATA
from devtools.demo.records import app_rows, card_number, luhn_complete, luhn_valid
from devtools.demo.subjects import Stream, Subject, iter_subjects
from devtools.demo.traces import LOG_FILES, log_lines, mailer_rows, marketing_rows, session_entries, shipper_rows
from devtools.demo.vocab import CARD_RANGES, END, EPOCH
from services.common.datamap import DataMap, load_datamap

Outputs = dict[str, list[dict[str, Any]]]  # "store.collection" (or "web-logs.<file>") → records


def outputs(subject: Subject) -> Outputs:
    """Everything the generator writes about one subject, as plain records."""
    found: Outputs = defaultdict(list)

    def into(store: str) -> Any:
        return lambda table, row: found[f"{store}.{table}"].append(dict(row))

    app_rows(subject, into("app-db"))
    marketing_rows(subject, into("marketing-db"))
    mailer_rows(subject, into("mailer"))
    shipper_rows(subject, into("shipper"))
    for key, value in session_entries(subject):
        name = "sessions.sessions" if key.startswith("session:") else "sessions.devices"
        found[name].append(value if isinstance(value, dict) else json.loads(value))
    for number, line in log_lines(subject):
        found[f"web-logs.{LOG_FILES[number]}"].append(json.loads(line))
    return dict(found)


def merged(subjects: Iterable[Subject]) -> Outputs:
    everything: Outputs = defaultdict(list)
    for subject in subjects:
        for name, records in outputs(subject).items():
            everything[name].extend(records)
    return dict(everything)


@pytest.fixture(scope="module")
def sample() -> list[Subject]:
    return list(iter_subjects(600, seed=7))


@pytest.fixture(scope="module")
def datamap(tmp_path_factory: pytest.TempPathFactory) -> DataMap:
    target = DemoTarget.in_directory(tmp_path_factory.mktemp("demo"), "redis://127.0.0.1:6379/0")
    return load_datamap(DATAMAP_PATH, demo_env(target))


def test_subjects_are_the_company_customers() -> None:
    for seed in (7, 11):
        assert [subject.customer for subject in iter_subjects(120, seed)] == company.generate(120, seed)


def test_the_same_seed_gives_the_same_company_and_another_seed_another() -> None:
    first = [outputs(subject) for subject in iter_subjects(40, seed=7)]
    again = [outputs(subject) for subject in iter_subjects(40, seed=7)]
    other = [outputs(subject) for subject in iter_subjects(40, seed=8)]
    assert first == again
    assert first != other


def test_a_subject_is_the_same_whatever_the_company_size() -> None:
    small = [outputs(subject) for subject in iter_subjects(50, seed=7)]
    large = [outputs(subject) for subject in iter_subjects(80, seed=7)]
    assert large[:50] == small
    assert [outputs(subject) for subject in iter_subjects(80, seed=7, start=50)] == large[50:]


def test_the_fast_stream_stays_in_range_and_is_deterministic() -> None:
    draws = [Stream("x").randrange(3, 9) for _ in range(3)]
    assert len(set(draws)) == 1
    stream = Stream("y")
    assert {stream.randrange(3, 9) for _ in range(2000)} == set(range(3, 9))
    assert {stream.choice("abc") for _ in range(500)} == {"a", "b", "c"}


def test_card_numbers_are_luhn_valid_and_in_test_ranges() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005") and luhn_valid("5555555555554444")
    assert not luhn_valid("4111111111111112")
    assert luhn_complete("411111111111111") == "4111111111111111"
    stream = Stream("cards")
    for _ in range(2000):
        brand, number = card_number(stream)
        assert luhn_valid(number), number
        assert any(brand == b and number.startswith(prefix) and len(number) == size for b, prefix, size in CARD_RANGES)


def test_stored_card_numbers_match_their_last_four(sample: list[Subject]) -> None:
    cards = merged(sample)["app-db.payment_methods"]
    assert cards and all(luhn_valid(card["card_number"]) for card in cards)
    assert all(card["card_number"].endswith(card["last4"]) for card in cards)
    assert all(re.fullmatch(r"(0[1-9]|1[0-2])/\d\d", card["expires"]) for card in cards)


EVERY_COLLECTION = (
    "app-db.customers",
    "app-db.account_logins",
    "app-db.addresses",
    "app-db.orders",
    "app-db.order_items",
    "app-db.payment_methods",
    "app-db.support_tickets",
    "app-db.analytics_events",
    "app-db.identity_checks",
    "marketing-db.subscribers",
    "marketing-db.campaign_clicks",
    "sessions.sessions",
    "sessions.devices",
    *(f"web-logs.{name}" for name in LOG_FILES),
    "mailer.contacts",
    "mailer.deliveries",
    "shipper.shipments",
)


def test_every_tenth_subject_is_in_every_store_and_collection(sample: list[Subject]) -> None:
    for subject in sample[::10]:
        assert subject.everywhere
        found = outputs(subject)
        missing = [name for name in EVERY_COLLECTION if not found.get(name)]
        assert not missing, f"subject {subject.index} is missing from {missing}"
        events = found["app-db.analytics_events"]
        assert any(e["account_id"] for e in events) and any(e["account_id"] is None for e in events)
        placed = [order["placed_at"] for order in found["app-db.orders"]]
        assert min(placed) < datetime(2022, 1, 1) < max(placed)
        assert any(order["status"] == "delivered" for order in found["app-db.orders"])


def test_presence_fractions_are_plausible(sample: list[Subject]) -> None:
    def share(name: str) -> float:
        return sum(1 for subject in sample if outputs(subject).get(name)) / len(sample)

    assert share("app-db.customers") == 1.0
    assert 0.75 < share("app-db.orders") < 0.92
    assert 0.3 < share("marketing-db.subscribers") < 0.6
    assert 0.25 < share("sessions.sessions") < 0.5
    assert 0.1 < share("app-db.identity_checks") < 0.25
    assert share("mailer.contacts") < 0.6 and share("shipper.shipments") < 0.7


def test_identifiers_are_unique_per_subject() -> None:
    subjects = list(iter_subjects(3000, seed=7))
    devices = [device for subject in subjects for device in subject.device_ids]
    addresses = [address for subject in subjects for address in (*subject.ipv4, subject.ipv6)]
    assert len(set(devices)) == len(devices)
    assert len(set(addresses)) == len(addresses)
    assert len({subject.cookie_id for subject in subjects}) == len(subjects)


def test_primary_keys_are_unique(sample: list[Subject]) -> None:
    everything = merged(sample)
    keys = {
        "app-db.orders": "order_id",
        "app-db.order_items": "item_id",
        "app-db.addresses": "address_id",
        "app-db.analytics_events": "event_id",
        "app-db.support_tickets": "ticket_id",
        "app-db.payment_methods": "payment_method_id",
        "marketing-db.campaign_clicks": "click_id",
        "mailer.contacts": "contact_id",
        "mailer.deliveries": "message_id",
        "shipper.shipments": "shipment_id",
    }
    for name, key in keys.items():
        values = [record[key] for record in everything[name]]
        assert len(set(values)) == len(values), name


def test_timestamps_span_mid_2021_to_late_2026(sample: list[Subject]) -> None:
    everything = merged(sample)
    stamps = [event["occurred_at"] for event in everything["app-db.analytics_events"]]
    stamps += [order["placed_at"] for order in everything["app-db.orders"]]
    assert all(EPOCH <= stamp <= END for stamp in stamps)
    before = sum(1 for stamp in stamps if stamp < datetime(2022, 1, 1))
    assert 0.03 < before / len(stamps) < 0.25


def test_social_security_numbers_have_the_issued_shape(sample: list[Subject]) -> None:
    for subject in sample:
        area, group, serial = subject.ssn.split("-")
        assert len(area) == 3 and len(group) == 2 and len(serial) == 4
        assert area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def generated_fields(sample: list[Subject]) -> dict[tuple[str, str], set[str]]:
    """Field names per (store, collection): table columns for SQL, keys seen in the records otherwise."""
    fields: dict[tuple[str, str], set[str]] = {}
    for store, metadata in (
        ("app-db", schema.app_metadata),
        ("marketing-db", schema.marketing_metadata),
        *PROVIDER_METADATA.items(),
    ):
        for table in metadata.sorted_tables:
            fields[(store, table.name)] = {column.name for column in table.columns}
    for name, records in merged(sample).items():
        store, collection = name.split(".", 1)
        collection = "access" if store == "web-logs" else collection
        keys = {key for record in records for key in record}
        if store in ("app-db", "marketing-db", "mailer", "shipper"):
            assert keys == fields[(store, collection)], f"{name}: records and table columns differ"
        fields.setdefault((store, collection), set()).update(keys)
    return fields


def test_every_generated_field_is_mapped_planted_or_a_decoy(sample: list[Subject], datamap: DataMap) -> None:
    planted = {(store, collection, field) for store, collection, field, _kind in PLANTED_PI}
    for (store_name, collection_name), names in generated_fields(sample).items():
        store = datamap.store(store_name)
        assert store is not None
        collection = store.collection(collection_name)
        if (store_name, collection_name) in UNMAPPED_COLLECTIONS:
            assert collection is None
            mapped: set[str] = set()
        else:
            assert collection is not None, f"{store_name}.{collection_name} is not in the data map"
            mapped = {field.name for field in collection.fields}
        unaccounted = {
            name for name in names if name not in mapped and (store_name, collection_name, name) not in planted | DECOYS
        }
        assert not unaccounted, f"{store_name}.{collection_name}: {unaccounted}"
        assert mapped <= names, f"{store_name}.{collection_name}: mapped but never written {mapped - names}"
        assert not {(store_name, collection_name, name) for name in mapped} & (planted | DECOYS)


def test_every_value_the_walk_follows_belongs_to_one_subject(sample: list[Subject], datamap: DataMap) -> None:
    """Otherwise discovery, walking from one person's identifiers, would reach another person's records."""
    owners: dict[tuple[str, str], set[int]] = defaultdict(set)
    for subject in sample:
        for name, records in outputs(subject).items():
            store_name, collection_name = name.split(".", 1)
            store = datamap.store(store_name)
            collection = store.collection("access" if store_name == "web-logs" else collection_name) if store else None
            if store is None or collection is None:
                continue
            for field in collection.fields:
                kind = datamap.identifier_kind(store, collection, field)
                for record in records:
                    if kind and record.get(field.name) is not None:
                        owners[(kind, str(record[field.name]).lower())].add(subject.index)
    shared = {key: sorted(indexes) for key, indexes in owners.items() if len(indexes) > 1}
    assert not shared, f"identifier values shared between subjects: {list(shared.items())[:5]}"
    assert {kind for kind, _value in owners} >= {
        "email",
        "account_id",
        "order_id",
        "device_id",
        "cookie_id",
        "ip_address",
    }


PLANTED_SHAPES = {
    "email": r"[^@\s]+@[^@\s]+\.[a-z]+",
    "phone": r"(\+1\d{10}|\(\d{3}\) \d{3}-\d{4})",
    "ssn": r"\d{3}-\d{2}-\d{4}",
    "birth_date": r"\d\d/\d\d/\d{4}",
    "postal_address": r"\d+ \w+ \w+, [\w ]+, CA \d{5}",
    "person_name": r"[A-Z][a-z]+ [A-Z][a-z]+",
    "ip_address": r"\d{1,3}(\.\d{1,3}){3}",
    "precise_geolocation": r"-?\d+\.\d{5},-?\d+\.\d{5}",
}


def test_planted_values_hold_what_they_claim(sample: list[Subject]) -> None:
    everything = merged(sample)
    for store, collection, field, kind in sorted(PLANTED_PI):
        assert kind in DETECTOR_KINDS
        names = [f"{store}.{collection}"] if store != "web-logs" else [f"web-logs.{n}" for n in LOG_FILES]
        values = [record[field] for name in names for record in everything[name] if record.get(field) is not None]
        assert values, f"{store}.{collection}.{field} is never filled"
        pattern = PLANTED_SHAPES[kind]
        assert all(re.search(pattern, str(value)) for value in values), f"{store}.{collection}.{field}"


def test_the_data_map_describes_a_whole_company(datamap: DataMap) -> None:
    assert [store.name for store in datamap.stores] == [
        "app-db",
        "marketing-db",
        "sessions",
        "web-logs",
        "mailer",
        "shipper",
    ]
    assert {r.name for r in datamap.recipients if r.role == "third_party"}
    for name, token in (("mailer", "DEMO_MAILER_TOKEN"), ("shipper", "DEMO_SHIPPER_TOKEN")):
        store = datamap.store(name)
        assert store and store.kind == "http" and store.recipient == name
        assert store.auth and store.auth.token_env == token
    assert all(store.backups for store in datamap.stores if store.kind == "sql")
    fields = [field for store in datamap.stores for collection in store.collections for field in collection.fields]
    assert any(field.sold_to for field in fields) and any(field.shared_to for field in fields)
    assert {field.withheld for field in fields} >= {"ssn", "password", "financial_account", "government_id"}
    assert any(field.sensitive == "precise_geolocation" for field in fields)
