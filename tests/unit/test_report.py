"""Right-to-know report: individualised categories, date range, §7024(c)/(d), empty report, safe, stable output."""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.common.datamap import DataMap, parse_datamap
from services.common.stores.base import FoundRecord
from services.discovery.report import ReportRequest, StoreOutcome, build_report, render
from services.discovery.report.model import Report
from services.discovery.report.render_csv import guard

DATAMAP_YAML = """
business: Acme Outfitters
recipients:
  - {name: mailer, role: service_provider, category: email delivery services}
  - {name: adco, role: third_party, category: advertising networks}
stores:
  - name: app-db
    kind: sql
    url: sqlite://
    description: Customer accounts and orders
    collections:
      - name: customers
        primary_key: [account_id]
        fields:
          - {name: account_id, identifies: account_id, category: A, label: account number,
             purposes: [account_management], sources: [consumer]}
          - {name: email, identifies: email, category: A, purposes: [account_management, marketing],
             sources: [consumer], disclosed_to: [mailer]}
          - {name: nickname, category: A, sources: [consumer]}
          - {name: notes, category: B, sources: [service_provider], purposes: [customer_support]}
          - {name: ssn, category: A, sensitive: ssn_dl_state_id_passport, withheld: ssn, sources: [consumer],
             purposes: [identity_verification]}
          - {name: password, category: L, sensitive: account_login_financial_credentials, withheld: password,
             sources: [consumer], purposes: [account_management]}
          - {name: health_survey, category: L, sensitive: health, sources: [consumer], purposes: [research]}
          - {name: segment, category: K, sources: [inferred], purposes: [advertising], shared_to: [adco]}
          - {name: internal_flag}
      - name: orders
        primary_key: [order_id]
        timestamp_field: placed_at
        fields:
          - {name: order_id, identifies: order_id}
          - {name: account_id, references: customers.account_id}
          - {name: items, category: D, sources: [consumer], purposes: [order_fulfilment], sold_to: [adco]}
          - {name: amount, category: D, sources: [consumer], purposes: [order_fulfilment]}
          - {name: placed_at, category: D}
  - name: web-logs
    kind: jsonl
    collections:
      - name: page_views
        path: /var/log/web/*.jsonl
        timestamp_field: at
        fields:
          - {name: account_id, references: app-db.customers.account_id}
          - {name: url, category: F, sources: [device], purposes: [analytics]}
          - {name: at}
  - name: crm
    kind: sql
    url: sqlite://
    collections:
      - name: contacts
        fields:
          - {name: email, references: app-db.customers.email}
          - {name: phone, category: A, sources: [consumer]}
  - name: archive
    kind: jsonl
    description: Tape exports before 2023
    collections:
      - name: legacy_exports
        path: /archive/*.jsonl.gz
        description: Monthly customer exports
        not_searched_reason: Kept only to meet tax record-keeping law, not searchable and never used commercially
        fields:
          - {name: full_name, category: A}
"""

SSN = "123-45-6789"
PASSWORD = "hunter2-Secret!"
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"
RECEIVED = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
GENERATED = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
OUTCOMES = {"app-db": StoreOutcome("found", 4), "web-logs": StoreOutcome("found", 1), "crm": StoreOutcome("none")}
FORMATS = ("json", "csv", "html")


@pytest.fixture(scope="module")
def datamap() -> DataMap:
    return parse_datamap(DATAMAP_YAML, "test data map")


def customer(**extra: object) -> FoundRecord:
    values = {"account_id": "1001", "email": "ada@example.com", "nickname": FORMULA, "notes": SCRIPT, "ssn": SSN,
              "password": PASSWORD, "health_survey": None, "segment": "", "internal_flag": None}  # fmt: skip
    return FoundRecord("app-db", "customers", "account_id=1001", {**values, **extra})


def order(order_id: str, placed_at: datetime) -> FoundRecord:
    values = {"order_id": order_id, "account_id": "1001", "items": ["boots", "tent"], "amount": Decimal("19.90"),
              "placed_at": placed_at}  # fmt: skip
    return FoundRecord("app-db", "orders", f"order_id={order_id}", values, placed_at)


def page_view(at: datetime) -> FoundRecord:
    return FoundRecord("web-logs", "page_views", "web-2024-05.jsonl:17", {"account_id": "1001",
                       "url": "https://shop.example/tents?q=2-person", "at": at.isoformat()}, at)  # fmt: skip


def subject_records() -> list[FoundRecord]:
    return [
        customer(),
        order("o-2021", datetime(2021, 6, 1, 12, tzinfo=UTC)),
        order("o-2024", datetime(2024, 5, 5, 8, tzinfo=UTC)),
        order("o-2025", datetime(2025, 12, 20, 8, tzinfo=UTC)),
        page_view(datetime(2024, 5, 6, 10, tzinfo=UTC)),
    ]


def request(request_type: str = "know_specific", **dates: date) -> ReportRequest:
    return ReportRequest("req-42", request_type, RECEIVED, GENERATED, **dates)


def report(datamap: DataMap, records: Sequence[FoundRecord] | None = None, request_type: str = "know_specific",
           **dates: date) -> Report:  # fmt: skip
    found = subject_records() if records is None else records
    return build_report(datamap, found, request(request_type, **dates), OUTCOMES)


def rendered_text(built: Report, fmt: str) -> str:
    content, _media_type, _filename = render(built, fmt)
    if fmt != "csv":
        return content.decode("utf-8")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())


def csv_files(built: Report) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(render(built, "csv")[0])) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def test_categories_are_only_those_found_for_this_subject(datamap: DataMap) -> None:
    built = report(datamap, request_type="know_categories")
    assert [c.code for c in built.categories] == ["A", "B", "D", "F", "L"]  # no K: segment held nothing
    sensitive = next(c for c in built.categories if c.code == "L").sensitive
    assert sensitive == (
        "Social Security, driver's license, state ID or passport number",
        "account log-in or financial account with its access credentials",
    )  # no health: the survey field was empty
    assert "internal flag" not in str(built.categories)


def test_sources_purposes_and_recipients_follow_the_fields_that_held_values(datamap: DataMap) -> None:
    built = report(datamap, request_type="know_categories")
    sources = {origin.name: origin.categories for origin in built.sources}
    assert sources == {
        "Service providers working for us": ("B",),
        "You, directly": ("A", "D", "L"),
        "Your device or browser, automatically": ("F",),
    }
    purposes = [origin.name for origin in built.purposes]
    assert purposes == ["Account management", "Analytics", "Customer support", "Identity verification",
                        "Marketing", "Order fulfilment"]  # fmt: skip
    recipients = [(r.relation, r.recipient_category, r.role, r.categories) for r in built.recipients]
    assert recipients == [
        ("disclosed", "email delivery services", "service provider", ("A",)),
        ("sold", "advertising networks", "third party", ("D",)),
    ]  # not shared: only the empty segment field is shared


def test_a_categories_report_carries_no_specific_piece_in_any_format(datamap: DataMap) -> None:
    built = report(datamap, request_type="know_categories")
    assert built.specific_pieces == () and built.withheld == ()
    assert "specific_pieces" not in json.loads(render(built, "json")[0])
    assert list(csv_files(built)) == ["summary.csv"]
    for fmt in FORMATS:
        text = rendered_text(built, fmt)
        for value in ("ada@example.com", "boots", "2-person", SSN, PASSWORD, "1001"):
            assert value not in text, (fmt, value)


def test_the_period_starts_at_collected_since_and_keeps_profile_data(datamap: DataMap) -> None:
    built = report(datamap)
    assert (built.period.start, built.period.end) == (date(2022, 1, 1), date(2026, 3, 2))
    orders = built.specific_pieces[0].collections[1]
    assert [r.record for r in orders.records] == ["order_id=o-2024", "order_id=o-2025"]
    assert built.specific_pieces[0].collections[0].records[0].occurred_at is None
    earlier = report(datamap, date_range_start=date(2019, 1, 1))
    assert earlier.period.start == date(2022, 1, 1) and earlier.record_count == built.record_count == 4


def test_a_requested_range_excludes_records_outside_it(datamap: DataMap) -> None:
    built = report(datamap, date_range_start=date(2025, 1, 1), date_range_end=date(2025, 12, 31))
    records = [r.record for s in built.specific_pieces for c in s.collections for r in c.records]
    assert records == ["account_id=1001", "order_id=o-2025"]
    searched = {s.store: (s.status, s.records) for s in built.searched}
    assert searched == {"app-db": ("found", 2), "web-logs": ("none", 0), "crm": ("none", 0)}
    assert "F" not in [c.code for c in built.categories]


def test_a_range_ending_before_collection_began_is_refused(datamap: DataMap) -> None:
    with pytest.raises(ValueError, match="before it starts on 2022-01-01"):
        report(datamap, date_range_end=date(2021, 12, 31))


@pytest.mark.parametrize("fmt", FORMATS)
def test_withheld_values_appear_in_no_format(datamap: DataMap, fmt: str) -> None:
    records = [customer(notes=f"caller read out {SSN} and 123456789 to support"), *subject_records()[1:]]
    built = report(datamap, records)
    text = rendered_text(built, fmt)
    for secret in (SSN, "123456789", PASSWORD):
        assert secret not in text
    if fmt == "html":  # the letter says it in plain words, without the store's key
        assert "<li>Your Social Security number</li>" in text and "<li>Your account password</li>" in text
        return
    assert "We hold your Social Security number (app-db/customers); it is not shown for your security" in text
    assert "We hold your account password (app-db/customers)" in text


def test_withheld_pieces_keep_their_place_with_a_marker(datamap: DataMap) -> None:
    built = report(datamap)
    pieces = {p.field: p for p in built.specific_pieces[0].collections[0].records[0].pieces}
    assert (pieces["ssn"].value, pieces["ssn"].withheld) == (None, "ssn")
    assert [w.kind for w in built.withheld] == ["ssn", "password"]
    rows = csv_files(built)["stores/app-db.csv"].splitlines()
    assert 'customers,account_id=1001,ssn,A,"[withheld for your security, §7024(d)]"' in rows


def test_a_subject_we_hold_nothing_about_gets_a_correct_empty_report(datamap: DataMap) -> None:
    built = report(datamap, records=[])
    assert built.summary == (
        "We searched 3 stores and hold no personal information about you in the period 2022-01-01 to 2026-03-02."
    )
    assert (built.categories, built.sources, built.recipients, built.specific_pieces) == ((), (), (), ())
    assert [s.status for s in built.searched] == ["none", "none", "none"]
    document = json.loads(render(built, "json")[0])
    assert document["categories"] == [] and document["specific_pieces"] == []
    assert built.summary in rendered_text(built, "csv")
    assert "January 1, 2022 to March 2, 2026. We found no personal information about you." in rendered_text(
        built, "html"
    )


def test_unsearched_archives_are_described_and_empty_stores_listed_as_searched(datamap: DataMap) -> None:
    built = report(datamap)
    [skipped] = built.not_searched
    assert (skipped.store, skipped.collection, skipped.description) == ("archive", "legacy_exports",
                                                                         "Monthly customer exports")  # fmt: skip
    assert skipped.reason.startswith("Kept only to meet tax record-keeping law")
    assert ("crm", "none", 0) in [(s.store, s.status, s.records) for s in built.searched]
    assert "archive" not in [s.store for s in built.searched]


def test_html_escapes_every_value_and_loads_nothing_external(datamap: DataMap) -> None:
    html = rendered_text(report(datamap), "html")
    assert SCRIPT not in html and "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "src=" not in html and "<link" not in html and "@import" not in html
    assert "default-src 'none'" in html


def test_csv_cells_that_look_like_formulas_are_neutralised(datamap: DataMap) -> None:
    assert [guard(cell) for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "plain")] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "plain"]  # fmt: skip
    store_csv = csv_files(report(datamap))["stores/app-db.csv"]
    assert "'=cmd|' /C calc'!A0" in store_csv
    assert "\n=cmd" not in store_csv and ",=cmd" not in store_csv


def test_json_is_versioned_ordered_and_iso_dated(datamap: DataMap) -> None:
    content, media_type, filename = render(report(datamap), "json")
    document = json.loads(content)
    assert list(document)[:10] == ["format_version", "report", "request_id", "request_type", "business",
                                   "received_at", "generated_at", "period", "summary", "explanations"]  # fmt: skip
    assert (document["format_version"], document["generated_at"]) == ("1.0", "2026-03-02T18:00:00+00:00")
    assert (media_type, filename) == ("application/json", "right-to-know-req-42.json")
    orders = document["specific_pieces"][0]["collections"][1]["records"]
    assert orders[0]["occurred_at"] == "2024-05-05T08:00:00+00:00"
    values = {piece["field"]: piece["value"] for piece in orders[0]["pieces"]}
    assert values == {"order_id": "o-2024", "account_id": "1001", "items": ["boots", "tent"], "amount": "19.90",
                      "placed_at": "2024-05-05T08:00:00+00:00"}  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_findings_render_to_the_same_bytes(datamap: DataMap, fmt: str) -> None:
    shuffled = subject_records() * 2  # the walk may reach a record twice, in any order
    random.Random(3).shuffle(shuffled)
    assert render(report(datamap), fmt) == render(report(datamap, shuffled), fmt)


def test_csv_zip_lists_summary_withheld_then_stores(datamap: DataMap) -> None:
    files = csv_files(report(datamap))
    assert list(files) == ["summary.csv", "withheld.csv", "stores/app-db.csv", "stores/web-logs.csv"]
    assert files["stores/app-db.csv"].startswith("collection,record,field,category,value\r\n")
    assert "category,A Identifiers,A," in files["summary.csv"]
    assert "sold to,advertising networks (third party),D," in files["summary.csv"]


def test_no_report_for_delete_or_correct_requests() -> None:
    with pytest.raises(ValueError, match="no report for request type 'delete'"):
        request("delete")


def test_every_store_needs_an_outcome_and_every_record_a_described_place(datamap: DataMap) -> None:
    with pytest.raises(ValueError, match="no search outcome for store 'crm'"):
        build_report(datamap, [], request(), {"app-db": StoreOutcome("none"), "web-logs": StoreOutcome("none")})
    stray = FoundRecord("app-db", "invoices", "id=1", {"total": 3})
    with pytest.raises(ValueError, match="app-db/invoices, which the data map does not describe"):
        report(datamap, [stray])


def test_unknown_formats_are_refused(datamap: DataMap) -> None:
    with pytest.raises(ValueError, match="expected one of: json, csv, html"):
        render(report(datamap), "pdf")


def test_stored_values_become_plain_json_values() -> None:
    from services.discovery.report.values import Scrubber, normalise

    stored = {"b": b"\x00\xff", "a": {3, 1}, "when": datetime(2024, 1, 2, 3, 4, tzinfo=UTC), "n": float("nan")}
    assert normalise(stored) == {"a": [1, 3], "b": "base64:AP8=", "n": "nan", "when": "2024-01-02T03:04:00+00:00"}
    scrub = Scrubber(["4111 1111 1111 1111", 987654321, "ab"])
    assert scrub.value({"note": "card 4111111111111111", "id": 987654321, "tag": "ab"}) == {
        "note": "card [withheld for your security, §7024(d)]", "id": "[withheld for your security, §7024(d)]",
        "tag": "ab"}  # fmt: skip


def test_an_unreachable_store_is_reported_and_outcomes_may_be_pairs(datamap: DataMap) -> None:
    outcomes = {"app-db": ("found", 4), "web-logs": ("unavailable", 0), "crm": ("none", 0), "archive": ("none", 0)}
    built = build_report(datamap, subject_records()[:1], request("know_categories"), outcomes)
    assert [s.store for s in built.searched] == ["app-db", "crm"]  # archive is never searched (§7024(c))
    assert [(s.store, s.collection) for s in built.not_searched] == [("web-logs", None), ("archive", "legacy_exports")]
    assert built.summary.endswith("1 system could not be reached, so this report may be incomplete.")
    assert (built.record_count, built.period_start) == (1, date(2022, 1, 1))
    with pytest.raises(ValueError, match="unknown store status 'lost'"):
        build_report(datamap, [], request(), {**outcomes, "crm": ("lost", 0)})
