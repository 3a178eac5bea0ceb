"""The access report's HTML letter: human labels and groups from the data map's names, Pacific time in words, and a
page with the business's identity and none of the stores' keys, field names, locators or hashes."""

from __future__ import annotations

import html as markup
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.common.pacific import human_when, moment_text
from services.discovery.bootstrap import letterhead
from services.discovery.report import render
from services.discovery.report.labels import field_label, group_of, record_title, words
from services.discovery.report.letter import Letterhead, summary, value_text
from services.discovery.report.texts import WITHHELD_PLAIN
from services.discovery.settings import DiscoverySettings
from tests.demo_report import CARD, LETTERHEAD, PASSWORD_HASH, SSN, demo_datamap, demo_report, records
from tests.unit.test_database_pool import SECRETS


@pytest.mark.parametrize(("code", "expected"), [
    ("last_login_ip", "Last login IP"), ("orderItems", "Order items"), ("shippingAddressID", "Shipping address ID"),
    ("web-logs", "Web logs"), ("crm", "CRM"), ("HTTPStatus", "HTTP status"),
])  # fmt: skip
def test_code_names_become_words(code: str, expected: str) -> None:
    assert words(code) == expected


@pytest.mark.parametrize(("field", "label", "expected"), [
    ("email", "email", "E-mail address"),  # no label in the map: the well-known name's label
    ("email", "email address", "Email address"),  # the map's own label wins
    ("full_name", "full name", "Name"),
    ("created_at", "created at", "Created"),
    ("createdAt", "createdAt", "Created"),
    ("loyalty_tier", "loyalty tier", "Loyalty tier"),
    ("shippingAddressId", "shippingAddressId", "Shipping address ID"),
])  # fmt: skip
def test_field_labels_prefer_the_data_map_then_well_known_names(field: str, label: str, expected: str) -> None:
    assert field_label(field, label) == expected


@pytest.mark.parametrize(("collection", "expected"), [
    ("support_tickets", "Support request"), ("orders", "Order"), ("gift_cards", "Gift card"),
    ("access", "Request to our website"), ("wishlistItems", "Wishlist item"), ("address", "Address"),
])  # fmt: skip
def test_record_titles_are_singular_words(collection: str, expected: str) -> None:
    assert record_title(collection) == expected


DEMO_GROUPS = {
    ("app-db", "customers"): "account", ("app-db", "account_logins"): "account", ("app-db", "addresses"): "account",
    ("app-db", "identity_checks"): "account", ("app-db", "orders"): "orders", ("app-db", "order_items"): "orders",
    ("shipper", "shipments"): "orders", ("app-db", "payment_methods"): "payments",
    ("app-db", "support_tickets"): "support", ("marketing-db", "subscribers"): "marketing",
    ("marketing-db", "campaign_clicks"): "marketing", ("mailer", "contacts"): "marketing",
    ("mailer", "deliveries"): "marketing", ("app-db", "analytics_events"): "activity",
    ("sessions", "sessions"): "activity", ("sessions", "devices"): "activity", ("web-logs", "access"): "activity",
    ("app-db", "job_applications"): "applications",
}  # fmt: skip


def test_every_collection_of_the_demo_map_has_the_group_a_person_expects() -> None:
    described = {(store.name, c.name) for store in demo_datamap().stores for c in store.collections}
    assert described == set(DEMO_GROUPS)
    assert {place: group_of(*place).key for place in DEMO_GROUPS} == DEMO_GROUPS


def test_unknown_names_fall_back_to_the_categories_they_hold_then_other() -> None:
    assert group_of("warehouse", "t_17", ["D", "D", "A", None]).key == "orders"
    assert group_of("warehouse", "t_17", ["F"]).key == "activity"
    assert group_of("warehouse", "t_17", ["A"]).key == "account"
    assert group_of("warehouse", "t_17", ["K"]).key == "other"
    assert group_of("warehouse", "t_17", []).title == "Other information we hold"
    assert group_of("app-db", "t_17").key == "other"  # "app" in a store's name says nothing


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 3, 3, 22, 5, tzinfo=UTC), "March 3, 2026 at 2:05 PM PST"),
    (datetime(2026, 7, 4, 19, 0, tzinfo=UTC), "July 4, 2026 at 12:00 PM PDT"),
    (datetime(2026, 1, 1, 8, 0, tzinfo=UTC), "January 1, 2026 at 12:00 AM PST"),
    (datetime(2026, 3, 8, 10, 0, tzinfo=UTC), "March 8, 2026 at 3:00 AM PDT"),  # the night clocks go forward
    (datetime(2026, 1, 1, 7, 59), "December 31, 2025 at 11:59 PM PST"),  # naive: taken as UTC
])  # fmt: skip
def test_times_read_in_pacific_time(moment: datetime, expected: str) -> None:
    assert moment_text(moment) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-05T08:00:00+00:00", "May 5, 2024 at 1:00 AM PDT"), ("2024-05-05T08:00:00Z", "May 5, 2024 at 1:00 AM PDT"),
    ("2024-05-05", "May 5, 2024"), ("2024-13-45", None), ("123-45-6789", None), ("JF-2024-05-05", None),
    ("2028-04", None), ("see 2024-05-05", None),
])  # fmt: skip
def test_only_whole_iso_dates_in_stored_values_are_rewritten(text: str, expected: str | None) -> None:
    assert human_when(text) == expected


def test_values_read_as_words() -> None:
    assert [value_text(v) for v in (True, False, None, 3, "as written")] == ["Yes", "No", "", "3", "as written"]
    assert value_text(["boots", "tent"]) == "boots, tent"
    assert value_text({"gift_wrap": True, "size": "L"}) == "Gift wrap: Yes, Size: L"
    cart = '[{"sku": "JF-CLK-0088", "qty": 1}, {"sku": "JF-LMP-0102", "qty": 2}]'  # a cache keeps JSON as text
    assert value_text(cart) == "SKU: JF-CLK-0088, Quantity: 1; SKU: JF-LMP-0102, Quantity: 2"
    assert [value_text(text) for text in ("[not json", "{}", "[3]")] == ["[not json", "{}", "3"]


def test_the_summary_gives_the_period_in_dates_and_says_when_a_system_was_missing() -> None:
    built = demo_report()
    assert summary(built) == (
        "We looked for information about you in 6 of our systems, covering January 1, 2022 to March 20, 2026. "
        "We found 12 records about you, with information in 7 categories."
    )
    assert summary(demo_report("know_categories")).endswith("We found personal information about you in 7 categories.")
    empty = replace(built, record_count=0, categories=())
    assert summary(empty).endswith("We found no personal information about you.")


def letter(request_type: str = "know_specific", letterhead: Letterhead | None = LETTERHEAD) -> str:
    return render(demo_report(request_type), "html", letterhead)[0].decode("utf-8")


def test_the_letter_says_who_we_are_and_how_to_reach_us() -> None:
    page = letter()
    for value in ("Juniper &amp; Finch Home Goods, Inc.", "privacy@juniperfinch.example", "1-800-555-0142",
                  "200 Market Street, Sacramento, CA 95814"):  # fmt: skip
        assert value in page
    assert '<a href="mailto:privacy@juniperfinch.example">' in page
    assert '<a href="https://shop.juniperfinch.example/privacy/">' in page
    assert "Questions, or think something is wrong?" in page and "Please give your request number" in page
    assert page.count("<h1>") == 1 and '<html lang="en">' in page


def test_the_letter_dates_everything_in_pacific_time_and_nothing_in_iso() -> None:
    page = letter()
    assert "We received your request on March 3, 2026 at 2:05 PM PST." in page
    assert "March 20, 2026 at 10:30 AM PDT" in page  # the letter's date
    assert '<caption>Order <span class="when">(November 28, 2025 at 11:12 AM PST)</span></caption>' in page
    assert re.search(r"\d{4}-\d{2}-\d{2}", page) is None and "+00:00" not in page


def test_the_pieces_are_grouped_by_what_they_are_with_human_labels() -> None:
    page = letter()
    titles = re.findall(r'<h3 class="group" id="\w+">([^<]+)</h3>', page)
    assert titles == ["Your account", "Your orders", "Your payment details", "Your support requests",
                      "Our e-mails and newsletters to you", "Your activity on our website and apps"]  # fmt: skip
    for label, value in (("Email address", "maya.lopez@example.com"), ("Opted out of sharing", "Yes"),
                         ("Order number", "JF-100482"), ("Product purchased", "Linen duvet cover, queen"),
                         ("Support request subject", "Duvet arrived torn"),
                         ("Page visited", "https://shop.juniperfinch.example/linen")):  # fmt: skip
        assert f'<tr><th scope="row">{label}</th><td>{value}</td></tr>' in page


def test_no_store_key_field_name_locator_or_hash_reaches_the_letter() -> None:
    page = markup.unescape(letter())
    datamap = demo_datamap()
    names = {s.name for s in datamap.stores if "-" in s.name}
    names |= {f"{s.name}/{c.name}" for s in datamap.stores for c in s.collections}
    names |= {f"{s.name}.{c.name}" for s in datamap.stores for c in s.collections}
    names |= {c.name for s in datamap.stores for c in s.collections if "_" in c.name}
    names |= {f.name for s in datamap.stores for c in s.collections for f in c.fields if "_" in f.name}
    names |= {record.locator for record in records()}
    leaked = sorted(name for name in names if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", page))
    assert leaked == []
    assert re.search(r"[0-9a-f]{32,}", page) is None  # no hash, no subject key
    for secret in (SSN, SSN.replace("-", ""), CARD, PASSWORD_HASH, "argon2id"):
        assert secret not in page


def test_withheld_pieces_are_explained_in_plain_words() -> None:
    page = letter()
    assert markup.escape(WITHHELD_PLAIN) in page
    for kind in ("Your Social Security number", "Your account password", "Your financial account number"):
        assert f"<li>{kind}</li>" in page
    assert '<td class="withheld">Held, not shown for your security</td>' in page
    assert "My SSN is [withheld for your security, §7024(d)] if you need it." in page


def test_a_categories_letter_has_no_pieces_and_still_the_business_and_the_next_steps() -> None:
    page = letter("know_categories")
    assert 'id="pieces"' not in page and "Your orders" not in page and "maya.lopez@example.com" not in page
    assert "privacy@juniperfinch.example" in page and "What you can do next" in page
    assert "We did not share" not in page and "Shared for advertising" in page


def test_without_a_letterhead_the_letter_names_the_data_maps_business_and_no_contact() -> None:
    page = letter(letterhead=None)
    assert "Juniper &amp; Finch Home Goods, Inc." in page and "mailto:" not in page
    assert "Contact us to make any of these requests." in page


def test_letterhead_values_are_escaped() -> None:
    hostile = Letterhead("<b>Acme</b>", 'a@b.example"><script>', None, None, None)
    page = letter(letterhead=hostile)
    assert "<b>Acme</b>" not in page and "&lt;b&gt;Acme&lt;/b&gt;" in page
    assert "<script" not in page


def test_discovery_signs_the_letter_with_the_business_identity_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    identity = {"CCPA_BUSINESS_NAME": "Acme Outfitters", "CCPA_BUSINESS_CONTACT_EMAIL": "privacy@acme.example",
                "CCPA_BUSINESS_CONTACT_PHONE": "1-888-555-0199", "CCPA_BUSINESS_POSTAL_ADDRESS": "1 Main St",
                "CCPA_PRIVACY_CENTER_URL": "https://acme.example/privacy/"}  # fmt: skip
    for name, value in {**SECRETS, **identity}.items():
        monkeypatch.setenv(name, value)
    assert letterhead(DiscoverySettings()) == Letterhead("Acme Outfitters", "privacy@acme.example", "1-888-555-0199",
                                                         "1 Main St", "https://acme.example/privacy/")  # fmt: skip
    monkeypatch.setenv("CCPA_PRIVACY_CENTER_URL", "javascript:alert(1)")
    with pytest.raises(ValueError, match="CCPA_PRIVACY_CENTER_URL"):
        DiscoverySettings()
