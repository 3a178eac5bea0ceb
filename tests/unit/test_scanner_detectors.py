"""PI scanner detectors and name heuristics: real formats are found, look-alikes (versions, order numbers,
non-Luhn digits, unissued SSNs, out-of-range coordinates) are not; classification, patch and evaluation rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from services.common.datamap.model import Field
from services.common.stores.jsonl import log_files
from services.discovery.scanner import ScanOptions, ScanResult, evaluate, suggested_patch
from services.discovery.scanner.classify import classify
from services.discovery.scanner.detectors import Cue, Kind, contains, detect
from services.discovery.scanner.model import CollectionCoverage, StoreCoverage
from services.discovery.scanner.names import hint
from services.discovery.scanner.profile import FieldProfile
from services.discovery.scanner.samplers import flatten


@pytest.mark.parametrize("value", ["jane.doe@example.com", "a+tag@mail.co.uk", " x_y@sub.example.org "])
def test_email(value: str) -> None:
    assert detect(value) is Kind.EMAIL


@pytest.mark.parametrize("value", ["user@localhost", "@example.com", "jane@", "a @ b.com", "git@github.com:org/repo"])
def test_not_email(value: str) -> None:
    assert detect(value) is None


@pytest.mark.parametrize("value", ["415-555-2671", "(415) 555-2671", "+1 415 555 2671", "+44 20 7946 0958"])
def test_formatted_phone(value: str) -> None:
    assert detect(value) is Kind.PHONE


@pytest.mark.parametrize("value", ["123-456-7890", "415-555-26", "2024-01-15", "12345", "4155552671"])
def test_not_phone_without_cue(value: str) -> None:
    assert detect(value) is None


def test_bare_digits_are_a_phone_only_in_a_phone_field() -> None:
    assert detect("4155552671", Cue.PHONE) is Kind.PHONE
    assert detect(4155552671, Cue.PHONE) is Kind.PHONE
    assert detect(4155552671) is None
    assert detect("415-555-2671", Cue.PRODUCT_CODE) is None  # an order number shaped like a phone
    assert detect(42, Cue.PHONE) is None


@pytest.mark.parametrize("value", ["536-22-1234", "001-01-0001", "899-99-9999"])
def test_ssn(value: str) -> None:
    assert detect(value) is Kind.SSN


@pytest.mark.parametrize(
    "value", ["000-12-3456", "666-12-3456", "900-12-3456", "987-65-4321", "536-00-1234", "536-22-0000", "078-05-1120"]
)
def test_ssn_outside_issued_ranges(value: str) -> None:
    assert detect(value) is None


def test_ssn_without_dashes_needs_the_field_name() -> None:
    assert detect("536221234") is None
    assert detect("536221234", Cue.SSN) is Kind.SSN
    assert detect(536221234, Cue.SSN) is Kind.SSN
    assert detect("666221234", Cue.SSN) is None


@pytest.mark.parametrize(
    "value",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444", "378282246310005", "6011111111111117",
     4111111111111111],
)  # fmt: skip
def test_card_number(value: str | int) -> None:
    assert detect(value) is Kind.CARD


@pytest.mark.parametrize(
    "value",
    ["4111111111111112", "1234567812345670", "4111 1111-1111 1111", "41 11 11 11 11 11 11 11", "411111111111",
     "9111111111111111"],
)  # fmt: skip
def test_not_card_number(value: str) -> None:
    """Non-Luhn, unknown issuer, mixed or tiny groups, too short."""
    assert detect(value) is None


def test_card_suppressed_by_product_code_names() -> None:
    assert detect("4111111111111111", Cue.PRODUCT_CODE) is None


@pytest.mark.parametrize("value", ["192.168.1.20", "8.8.8.8", "203.0.113.9", "2606:4700:4700::1111"])
def test_ip_address(value: str) -> None:
    assert detect(value) is Kind.IP


@pytest.mark.parametrize("value", ["1.2.3", "1.2", "256.1.1.1", "127.0.0.1", "0.9.1.2", "0.0.0.0", "12:30:45",
                                   "00:1a:2b:3c:4d:5e", "::1", "255.255.255.255", "01.02.03.04"])  # fmt: skip
def test_not_ip_address(value: str) -> None:
    assert detect(value) is None


def test_four_part_version_is_no_ip_in_a_version_field() -> None:
    assert detect("1.2.3.4") is Kind.IP
    assert detect("1.2.3.4", Cue.VERSION) is None
    assert hint("app_version").cue is Cue.VERSION


def test_coordinates() -> None:
    assert detect("37.77493,-122.41942") is Kind.PRECISE_GEO
    assert detect("(37.77493, -122.41942)") is Kind.PRECISE_GEO
    assert detect(37.774929, Cue.LATITUDE) is Kind.PRECISE_GEO
    assert detect(Decimal("-122.419400"), Cue.LONGITUDE) is Kind.PRECISE_GEO
    assert detect("37.7749", Cue.LATITUDE) is Kind.PRECISE_GEO
    assert detect(37.77, Cue.LATITUDE) is Kind.COARSE_GEO


@pytest.mark.parametrize(
    ("value", "cue"),
    [("95.12345,10.12345", None), ("37.77,-122.41", None), (123.456789, Cue.LATITUDE), (-190.123456, Cue.LONGITUDE),
     (37.774929, None), ("37.774929", None)],
)  # fmt: skip
def test_not_coordinates(value: str | float, cue: Cue | None) -> None:
    """Out of range, too few decimals for a pair, or a lone number without a lat/lon name."""
    assert detect(value, cue) is None


def test_birth_date_needs_the_name_and_a_plausible_age() -> None:
    assert detect(date(1985, 4, 12), Cue.BIRTH) is Kind.BIRTH_DATE
    assert detect(datetime(1985, 4, 12, tzinfo=UTC), Cue.BIRTH) is Kind.BIRTH_DATE
    assert detect("1985-04-12", Cue.BIRTH) is Kind.BIRTH_DATE
    assert detect("04/12/1985", Cue.BIRTH) is Kind.BIRTH_DATE
    assert detect(date(1985, 4, 12)) is None
    assert detect(date.today() - timedelta(days=365 * 5), Cue.BIRTH) is None
    assert detect("1899-12-31", Cue.BIRTH) is None
    assert detect("1985-13-40", Cue.BIRTH) is None


@pytest.mark.parametrize(
    "value",
    ["123 Main St", "742 Evergreen Terrace, Springfield", "1600 Pennsylvania Avenue NW, Washington, DC 20500",
     "55 W 5th Ave, Apt 4", "Springfield, IL 62701"],
)  # fmt: skip
def test_postal_address(value: str) -> None:
    assert detect(value) is Kind.ADDRESS


@pytest.mark.parametrize("value", ["12 Park Place Candles", "3 Way Switch", "Route 66", "Sprint 12 Road map", "94105"])
def test_not_postal_address(value: str) -> None:
    assert detect(value) is None


def test_zip_code_needs_the_field_name() -> None:
    assert detect("94105", Cue.ZIP) is Kind.ADDRESS
    assert detect(2105, Cue.ZIP) is Kind.ADDRESS  # 02105 in an integer column
    assert detect("94105-1234", Cue.ZIP) is Kind.ADDRESS
    assert detect("00000", Cue.ZIP) is None


def test_iban() -> None:
    assert detect("DE89370400440532013000") is Kind.IBAN
    assert detect("GB82 WEST 1234 5698 7654 32") is Kind.IBAN
    assert detect("DE89370400440532013001") is None


@pytest.mark.parametrize("value", ["shipped", "SKU-10023", "19.99", 19.99, 42, True, None, "", "v2.3.1", "N/A"])
def test_ordinary_values(value: object) -> None:
    assert detect(value) is None


def test_kinds_inside_free_text() -> None:
    ticket = "Hi, call me at (415) 555-2671 or jane.doe@example.com; card 4111 1111 1111 1111 was charged twice"
    assert contains(ticket) == {Kind.PHONE, Kind.EMAIL, Kind.CARD}
    assert contains("Ship to 123 Main St, Springfield, IL 62701 please") == {Kind.ADDRESS}
    assert contains("my SSN 536-22-1234 is on file") == {Kind.SSN}
    assert contains("logged in from 100.64.3.9 yesterday") == {Kind.IP}
    assert contains("https://shop.example/lp/spring?utm_medium=email&e=jane.doe%40example.com") == {Kind.EMAIL}


def test_look_alikes_inside_free_text() -> None:
    assert contains("order 4155552671 never arrived, ticket 1234567812345670 still open") == frozenset()
    assert contains("please upgrade to version 1.2.3 before Friday") == frozenset()
    assert contains("refund of 1,299.00 for invoice 000-12-3456 approved") == frozenset()
    assert contains("upstream 10.0.3.7:8080 timed out, retried on 10.0.3.8") == frozenset()  # the company's hosts


@pytest.mark.parametrize(
    ("name", "kind"),
    [("email", Kind.EMAIL), ("billingEmail", Kind.EMAIL), ("contact.email_address", Kind.EMAIL),
     ("client_ip", Kind.IP), ("mac_address", Kind.DEVICE_ID), ("shipping_address.zip", Kind.ADDRESS),
     ("geo.lat", Kind.PRECISE_GEO), ("first_name", Kind.PERSON_NAME), ("password_hash", Kind.PASSWORD),
     ("passport_no", Kind.PASSPORT), ("drivers_license", Kind.DRIVERS_LICENSE), ("tax_id", Kind.SSN),
     ("date_of_birth", Kind.BIRTH_DATE), ("mobile", Kind.PHONE), ("device_id", Kind.DEVICE_ID),
     ("anonymous_id", Kind.COOKIE_ID), ("security_answer", Kind.SECURITY_ANSWER)],
)  # fmt: skip
def test_name_hints(name: str, kind: Kind) -> None:
    found = hint(name)
    assert found.kind is kind and found.strong


@pytest.mark.parametrize(
    "name",
    ["status", "sku", "email_verified", "phone_country", "is_mobile", "device_type", "address_id", "ssn_last4",
     "password_updated_at", "long_description", "total_amount", "card_brand"],
)  # fmt: skip
def test_names_that_say_nothing_strong(name: str) -> None:
    found = hint(name)
    assert found.kind is None or not found.strong


def _profile(name: str, values: Sequence[object]) -> FieldProfile:
    profile = FieldProfile(name)
    for value in values:
        profile.observe(value)
    return profile


def test_unmapped_column_of_ssns_is_a_high_confidence_finding() -> None:
    finding = classify("app", "users", _profile("ssn", ["536-22-1234"] * 9 + [None]), None, ScanOptions())
    assert finding.status == "unmapped_pi" and finding.confidence == "high"
    assert finding.kinds == (Kind.SSN,) and finding.sampled == 9
    assert finding.suggestion is not None and finding.suggestion.category == "L"
    assert (finding.suggestion.sensitive, finding.suggestion.withheld) == ("ssn_dl_state_id_passport", "ssn")


def test_a_few_matches_below_the_threshold_are_not_a_finding() -> None:
    values = ["jane@example.com"] + ["shipped"] * 9
    finding = classify("app", "orders", _profile("status", values), None, ScanOptions(min_ratio=0.2))
    assert finding.status == "clean" and finding.detections[0].matches == 1


def test_a_strong_name_and_one_match_are_enough() -> None:
    values = ["jane@example.com"] + ["unknown"] * 9
    finding = classify("app", "orders", _profile("contact_email", values), None, ScanOptions())
    assert finding.status == "unmapped_pi" and finding.confidence == "medium"


def test_mapped_field_is_covered_or_mapped_no_pi_seen() -> None:
    email = Field(name="email", category="A", identifies="email")
    covered = classify("app", "users", _profile("email", ["jane@example.com"]), email, ScanOptions())
    assert covered.status == "covered"
    empty = classify("app", "users", _profile("email", []), email, ScanOptions())
    assert empty.status == "mapped_no_pi_seen"


def test_name_only_kinds_are_low_confidence_and_need_values() -> None:
    hashed = classify("app", "users", _profile("password_hash", ["$2b$12$abcdefghijkl"]), None, ScanOptions())
    assert (hashed.status, hashed.confidence, hashed.kinds) == ("unmapped_pi", "low", (Kind.PASSWORD,))
    assert classify("app", "users", _profile("password_hash", [None]), None, ScanOptions()).status == "clean"
    flags = classify("app", "users", _profile("first_name", [True, False]), None, ScanOptions())
    assert flags.status == "clean"


def test_free_text_that_contains_pi() -> None:
    tickets = ["Please call me at (415) 555-2671 about the refund"] + ["Where is my parcel now?"] * 9
    finding = classify("app", "tickets", _profile("body", tickets), None, ScanOptions(text_ratio=0.05))
    assert finding.status == "unmapped_pi" and finding.in_text and finding.kinds == (Kind.PHONE,)


def test_card_suggests_b_withheld_financial_account() -> None:
    finding = classify("app", "payments", _profile("pan", ["4111111111111111"] * 3), None, ScanOptions())
    assert finding.suggestion is not None
    assert (finding.suggestion.category, finding.suggestion.withheld) == ("B", "financial_account")
    assert "§7024(d)" in (finding.suggestion.note or "")


def _result(*findings: object) -> ScanResult:
    collection = CollectionCoverage("users", True, records=10, fields=list(findings))  # type: ignore[arg-type]
    result = ScanResult("map.yaml", datetime(2025, 1, 1, tzinfo=UTC), ScanOptions(), seconds=2.0)
    result.stores.append(StoreCoverage("app", "sql", collections=[collection]))
    return result


def test_evaluate_counts_unmapped_findings_against_the_truth() -> None:
    ssn = classify("app", "users", _profile("ssn", ["536-22-1234"]), None, ScanOptions())
    phone = classify("app", "users", _profile("order_phone", ["(415) 555-2671"]), None, ScanOptions())
    result = _result(ssn, phone)
    score = evaluate(
        result, {("app", "users", "ssn", "ssn"), ("app", "users", "dob")}, {("app", "users", "order_phone")}
    )
    assert score.true_positives == {("app", "users", "ssn")}
    assert score.false_negatives == {("app", "users", "dob")}
    assert score.decoys_flagged == {("app", "users", "order_phone")}
    assert (score.precision, score.recall) == (0.5, 0.5)
    assert result.rows_per_second == 5.0


def test_patch_is_yaml_with_review_comments() -> None:
    ssn = classify("app", "users", _profile("ssn", ["536-22-1234"]), None, ScanOptions())
    text = suggested_patch(_result(ssn))
    assert "# review: 1 of 1 sampled values (100%) look like ssn (confidence high)" in text
    [store] = yaml.safe_load(text)["stores"]
    [field] = store["collections"][0]["fields"]
    assert field == {"name": "ssn", "category": "L", "sensitive": "ssn_dl_state_id_passport", "withheld": "ssn"}
    assert "536-22-1234" not in text


def test_flatten_nested_objects_and_lists() -> None:
    entry = {"user": {"email": "x", "tags": ["a", "b"]}, "items": [{"sku": 1}], "n": None}
    assert list(flatten(entry)) == [
        ("user.email", "x"), ("user.tags[]", "a"), ("user.tags[]", "b"), ("items[].sku", 1), ("n", None)
    ]  # fmt: skip


def test_rotated_log_files_current_first(tmp_path: Path) -> None:
    for name in ("access.log", "access.log.1", "access.log.2.gz", "access.log.bak", "other.log"):
        (tmp_path / name).write_text("")
    assert [path.name for path in log_files(str(tmp_path / "access.log"), current_first=True)] == [
        "access.log", "access.log.1", "access.log.2.gz"
    ]  # fmt: skip
    (tmp_path / "access.log.0.gz").write_text("")
    assert [path.name for path in log_files(str(tmp_path / "access.log"), current_first=True)] == [
        "access.log", "access.log.1", "access.log.0.gz", "access.log.2.gz"
    ]  # fmt: skip
