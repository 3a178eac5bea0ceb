"""The scanner's content check against a real PostgreSQL database (Healthline 2025: article titles implying a
diagnosis went to advertisers): the page titles and search terms the data map shares with an ad network are
sampled and flagged per sensitive category with their recipient, in the terminal table, the JSON and the patch;
no sampled value reaches any of them, and the exit code stays 0 (a finding, not a failure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
import yaml
from typer.testing import CliRunner

from services.common.flows.vocabulary import THIRD_PARTY_CLAUSES
from services.discovery.scanner.cli import discover_scan

pytestmark = pytest.mark.integration

TP = "[" + ", ".join(THIRD_PARTY_CLAUSES) + "]"
DATAMAP = f"""
business: Acme Wellness Shop
notices: {{opt_out_link: https://shop.example/choices}}
recipients:
  - {{name: adnet, role: third_party, category: ad network, contract: {{signed_on: 2025-01-01, clauses: {TP}}}}}
stores:
  - name: app
    kind: sql
    url: ${{APP_DB_URL}}
    collections:
      - name: page_views
        primary_key: [id]
        fields:
          - {{name: id}}
          - {{name: cookie_id, category: A, identifies: cookie_id, shared_to: [adnet]}}
          - {{name: page_title, category: F}}
          - {{name: search_terms, category: F}}
          - {{name: internal_note}}
flows:
  - {{name: adnet-events, recipient: adnet, relation: sharing, channel: server_api, purpose: advertising,
     fields: [app.page_views.cookie_id, app.page_views.page_title, app.page_views.search_terms],
     honours_opt_out: true, notice: https://shop.example/privacy#sharing}}
"""
ORDINARY = ["Linen duvet covers", "Walnut desk lamp", "Wool throw blanket", "Cast-iron skillet care", "Gift cards"]
REVEALING = ["Living with type 2 diabetes: kitchen tips", "Early signs of multiple sclerosis",
             "Coming out to your family: a guide"]  # fmt: skip
SEARCHES = ["jute rug", "erectile dysfunction treatment", "desk lamp", "candles", "throw pillows"]


@pytest.fixture
def company(pg_url: str, tmp_path: Path) -> dict[str, str]:
    """100 page views: 3 in 40 titles and 1 in 5 searches reveal health or orientation; the note is not shared."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE page_views (id integer PRIMARY KEY, cookie_id text, page_title text, "
                                   "search_terms text, internal_note text)"))  # fmt: skip
        titles = REVEALING + ORDINARY * 7  # 3 of 38, cycled through 100 rows
        rows = [{"id": i, "cookie_id": f"ck-{i:04d}", "title": titles[i % len(titles)], "note": REVEALING[0],
                 "search": SEARCHES[i % len(SEARCHES)]} for i in range(100)]  # fmt: skip
        connection.execute(sa.text("INSERT INTO page_views VALUES (:id, :cookie_id, :title, :search, :note)"), rows)
    engine.dispose()
    (tmp_path / "datamap.yaml").write_text(DATAMAP)
    (tmp_path / "scan.env").write_text(f"APP_DB_URL={pg_url}\n")
    return {"datamap": str(tmp_path / "datamap.yaml"), "env": str(tmp_path / "scan.env")}


def test_shared_titles_and_searches_that_reveal_sensitive_pi_are_flagged(company: dict[str, str],
                                                                         tmp_path: Path) -> None:  # fmt: skip
    app = typer.Typer()
    app.command()(discover_scan)
    json_file, patch_file = tmp_path / "scan.json", tmp_path / "patch.yaml"
    outcome = CliRunner().invoke(app, ["--datamap", company["datamap"], "--env-file", company["env"],
                                       "--json", str(json_file), "--patch", str(patch_file)])  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    assert "Sensitive personal information in what is sold or shared" in outcome.output
    assert "2 sold or shared field(s) reveal sensitive PI" in outcome.output

    fields = {field["name"]: field for field in json.loads(json_file.read_text())["stores"][0]["collections"][0]
              ["fields"]}  # fmt: skip
    titles = fields["page_title"]["content"]
    assert (titles["recipients"], titles["flows"], titles["checked"]) == (["adnet"], ["adnet-events"], 100)
    reveals = {item["category"]: item["matches"] for item in titles["reveals"]}
    assert reveals == {"health": sum(1 for i in range(100) if i % 38 in (0, 1)),
                       "sex_life_orientation": sum(1 for i in range(100) if i % 38 == 2)}  # fmt: skip
    assert {item["category"] for item in fields["search_terms"]["content"]["reveals"]} == {"health"}
    assert fields["search_terms"]["content"]["reveals"][0]["ratio"] == 0.2
    assert fields["cookie_id"]["content"]["reveals"] == []
    assert fields["internal_note"]["content"] is None  # not shared, so not the content check's business

    patch = yaml.safe_load(patch_file.read_text())
    [collection] = patch["stores"][0]["collections"]
    assert {field["name"]: field.get("sensitive") for field in collection["fields"]} == {
        "page_title": "health", "search_terms": "health"}  # fmt: skip
    assert "remove app.page_views.page_title from flow(s) adnet-events" in patch_file.read_text()

    outputs = (outcome.output + json_file.read_text() + patch_file.read_text()).lower()
    leaked = [value for value in REVEALING + SEARCHES + ORDINARY if value.lower() in outputs]
    assert leaked == []
