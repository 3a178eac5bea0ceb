"""The dashboard against the running services: a know and a delete request move the latency histograms on the
/metrics pages of discovery and deletion, and every metric a panel queries is declared on some service's page."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools import dashboards
from tests.e2e.demo_world import World, completed, submit
from tests.support import wait_for

pytestmark = pytest.mark.e2e

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/k8s/components/grafana-dashboard/ccpa-pipeline.json"
KNOWER, DELETER = 15, 16  # subjects no other test of the shared world uses


@pytest.fixture(scope="module")
def world(full_world: World) -> World:
    return full_world


def scrape(world: World, url: str) -> str:
    response = httpx.get(f"{url}/metrics", headers=world.pipeline.auth_of("monitoring"), timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def observed(page: str, histogram: str, label: str, value: str) -> float:
    """The _count sample of one labelled series of a histogram on a /metrics page (0 when absent)."""
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == f"{histogram}_count" and sample.labels.get(label) == value:
                return float(sample.value)
    return 0.0


def test_a_ready_report_and_a_verified_deletion_move_their_latency_histograms(world: World) -> None:
    discovery, deletion = world.pipeline.discovery, world.pipeline.deletion
    assert discovery is not None and deletion is not None
    metric = ("ccpa_discovery_report_latency_seconds", "request_type", "know_specific")
    before = observed(scrape(world, discovery.url), *metric)
    completed(world, submit(world, world.customers[KNOWER]))
    wait_for(lambda: observed(scrape(world, discovery.url), *metric) > before or None, what="report latency")

    customer = world.customers[DELETER]
    body = {"verification": {"data_points": {"name": customer.full_name, "postal_code": customer.postal_code}}}
    request_id = submit(world, customer, "delete", **body)
    verified = ("ccpa_deletion_verified_latency_seconds", "operation", "delete")
    wait_for(lambda: observed(scrape(world, deletion.url), *verified) >= 1 or None, timeout=120,
             what=f"deletion latency of {request_id}")  # fmt: skip


def test_every_metric_the_dashboard_queries_is_on_a_running_service_s_page(world: World) -> None:
    declared = set().union(*(dashboards.scraped_exports(scrape(world, s.url)) for s in world.pipeline.services))
    board = json.loads(DASHBOARD.read_text())
    queried = {s.metric for query in dashboards.queries(board) for s in dashboards.selectors(query.expr)[0]}
    assert queried - declared == set()
