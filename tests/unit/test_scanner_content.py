"""The scanner's content check (Healthline 2025): the fields the data map sells or shares are found from `shared_to`,
`sold_to` and the sale and sharing flows; their values are counted per sensitive category and reported with their
recipients, in the result, its JSON and the suggested patch, never with a value."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import yaml

from services.common.datamap import parse_datamap
from services.common.datamap.model import Field
from services.common.flows.vocabulary import SERVICE_PROVIDER_CLAUSES, THIRD_PARTY_CLAUSES
from services.discovery.scanner import ScanOptions, ScanResult, result_json, suggested_patch
from services.discovery.scanner.classify import classify
from services.discovery.scanner.content import destinations
from services.discovery.scanner.model import CollectionCoverage, Destination, FieldFinding, StoreCoverage
from services.discovery.scanner.profile import CollectionProfile
from services.discovery.scanner.render import revealing_table, summary

SP = "[" + ", ".join(SERVICE_PROVIDER_CLAUSES) + "]"
TP = "[" + ", ".join(THIRD_PARTY_CLAUSES) + "]"
DATAMAP = f"""
business: Acme Health Shop
notices: {{opt_out_link: https://shop.example/choices}}
recipients:
  - {{name: adnet, role: third_party, category: ad network, contract: {{signed_on: 2025-01-01, clauses: {TP}}}}}
  - {{name: coop, role: third_party, category: marketing co-op, contract: {{signed_on: 2025-01-01, clauses: {TP}}}}}
  - {{name: stats, role: service_provider, category: analytics, contract: {{signed_on: 2024-01-01, clauses: {SP}}}}}
stores:
  - name: app
    kind: sql
    url: sqlite://
    collections:
      - name: events
        fields:
          - {{name: id, identifies: event_id}}
          - {{name: page_url, category: F, shared_to: [adnet]}}
          - {{name: page_title, category: F}}
          - {{name: search_terms, category: F, sold_to: [coop]}}
          - {{name: event_type, category: F}}
flows:
  - {{name: adnet-events, recipient: adnet, relation: sharing, channel: server_api, purpose: advertising,
     fields: [app.events.page_url, app.events.page_title], honours_opt_out: true,
     notice: https://shop.example/privacy#sharing}}
  - {{name: stats-events, recipient: stats, relation: service_provider, channel: server_api, purpose: analytics,
     fields: [app.events.event_type]}}
"""
TITLES = ["Living with type 2 diabetes", "Coming out to your family", "Linen duvet covers", "Walnut desk lamp",
          "Wool throw blanket", "Early signs of multiple sclerosis", "Skillet care", "Gift cards"]  # fmt: skip


def test_sold_or_shared_fields_come_from_recipients_and_sale_or_sharing_flows() -> None:
    found = destinations(parse_datamap(DATAMAP, "company.yaml"))
    assert found == {"app": {"events": {
        "page_url": Destination(("adnet",), ("adnet-events",)),
        "page_title": Destination(("adnet",), ("adnet-events",)),
        "search_terms": Destination(("coop",), ()),
    }}}  # fmt: skip


def _finding(name: str, values: Sequence[object], sensitive: str | None = None) -> FieldFinding:
    profile = CollectionProfile("events", {name: Destination(("adnet",), ("adnet-events",))})
    for value in values:
        profile.observe([(name, value)])
    mapped = Field(name=name, category="F", sensitive=sensitive)
    return classify("app", "events", profile.fields[name], mapped, ScanOptions())


def _result(*findings: FieldFinding) -> ScanResult:
    result = ScanResult("company.yaml", datetime(2025, 7, 1, tzinfo=UTC), ScanOptions(), seconds=1.0)
    result.stores.append(StoreCoverage("app", "sql", collections=[CollectionCoverage("events", True, 8, fields=[
        *findings])]))  # fmt: skip
    return result


def test_revealing_values_are_counted_per_category_with_their_share() -> None:
    finding = _finding("page_title", [*TITLES, None, ""])
    assert finding.content is not None and finding.reveals_sensitive
    assert finding.content.checked == 8
    assert [(r.category, r.matches, r.ratio) for r in finding.content.revealed] == [
        ("health", 2, 0.25), ("sex_life_orientation", 1, 0.125)]  # fmt: skip
    assert finding.status == "mapped_no_pi_seen"  # a content finding is no unmapped PI: the score stays the same


def test_a_field_not_sold_or_shared_is_not_content_checked() -> None:
    profile = CollectionProfile("events")
    profile.observe([("page_title", "Living with type 2 diabetes")])
    finding = classify("app", "events", profile.fields["page_title"], Field(name="page_title", category="F"),
                       ScanOptions())  # fmt: skip
    assert finding.content is None and not finding.reveals_sensitive


def test_ordinary_values_are_checked_and_reveal_nothing() -> None:
    finding = _finding("page_title", ["Linen duvet covers", "Walnut desk lamp"])
    assert finding.content is not None and finding.content.checked == 2 and not finding.reveals_sensitive
    assert _result(finding).revealing == []


def test_json_reports_counts_recipients_and_flows_never_a_value() -> None:
    document = result_json(_result(_finding("page_title", TITLES)))
    [field] = document["stores"][0]["collections"][0]["fields"]
    assert field["content"] == {
        "recipients": ["adnet"], "flows": ["adnet-events"], "checked": 8, "marked_sensitive": None,
        "reveals": [{"category": "health", "matches": 2, "ratio": 0.25},
                    {"category": "sex_life_orientation", "matches": 1, "ratio": 0.125}],
    }  # fmt: skip
    assert document["summary"]["reveals_sensitive"] == 1
    text = json.dumps(document).lower()
    assert "diabetes" not in text and "coming out" not in text


def test_patch_suggests_leaving_the_flow_or_marking_the_field_sensitive() -> None:
    text = suggested_patch(_result(_finding("page_title", TITLES)))
    assert "remove app.events.page_title from flow(s) adnet-events" in text
    assert "of 8 sampled values, 2 (25.0%) health, 1 (12.5%) sex_life_orientation reveal" in text
    [store] = yaml.safe_load(text)["stores"]
    assert store["collections"] == [{"name": "events", "fields": [{"name": "page_title", "sensitive": "health"}]}]
    assert "diabetes" not in text.lower()


def test_a_field_already_marked_sensitive_is_told_to_strip_what_reveals() -> None:
    text = suggested_patch(_result(_finding("page_title", TITLES, sensitive="health")))
    assert "strip what reveals a health condition before it leaves" in text
    [store] = yaml.safe_load(text)["stores"]
    assert store["collections"][0]["fields"] == [{"name": "page_title"}]


def test_terminal_table_and_summary_name_the_recipients() -> None:
    finding = _finding("page_title", TITLES)
    table = revealing_table([finding])
    cells = [list(column.cells) for column in table.columns]
    assert cells[3] == ["health\nsex_life_orientation"] and cells[4] == ["2/8 (25.0%)\n1/8 (12.5%)"]
    assert cells[5] == ["adnet (flow adnet-events)"]
    assert "mark it sensitive: health" in cells[6][0]
    assert "1 sold or shared field(s) reveal sensitive PI" in summary(_result(finding))
