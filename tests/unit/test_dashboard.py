"""The Grafana dashboard: the fields Grafana needs, and every panel's PromQL querying only metrics and labels that
the services register in prometheus_client's registry (tests/e2e/test_dashboard_metrics.py scrapes them live)."""

from __future__ import annotations

import copy
import importlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from devtools import dashboards
from devtools.dashboards import DashboardError, Query

COMPONENT = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "components" / "grafana-dashboard"
SERVICES = ("intake", "audit", "discovery", "deletion", "optout", "console")
# What the issue asks the dashboard to show, by the metric that shows it.
SHOWN = {
    "requests by deadline state": "ccpa_audit_open_requests",
    "consumer lag": "ccpa_consumer_lag_messages",
    "dead letters": "ccpa_consumer_messages_total",
    "DLQ size": "ccpa_dlq_messages",
    "outbox pending": "ccpa_outbox_pending",
    "outbox parked": "ccpa_outbox_parked",
    "report latency": "ccpa_discovery_report_latency_seconds_bucket",
    "deletion latency": "ccpa_deletion_verified_latency_seconds_bucket",
}


def dashboard() -> dict[str, Any]:
    return dict(json.loads((COMPONENT / "ccpa-pipeline.json").read_text()))


def exported() -> dict[str, frozenset[str]]:
    """What the services register once their apps and composition roots are imported, as `ccpa serve` does."""
    for service in SERVICES:
        importlib.import_module(f"services.{service}.app")
        importlib.import_module(f"services.{service}.bootstrap")
    return dashboards.registry_exports(REGISTRY)


def with_panel(expr: str) -> dict[str, Any]:
    changed = dashboard()
    panel = copy.deepcopy(changed["panels"][1])
    panel |= {"id": 999, "title": "added", "gridPos": {"x": 0, "y": 500, "w": 6, "h": 4}}
    panel["targets"] = [{**panel["targets"][0], "refId": "A", "expr": expr}]
    changed["panels"].append(panel)
    return changed


def test_the_dashboard_has_what_grafana_needs() -> None:
    board = dashboard()
    assert dashboards.structure_problems(board) == []
    assert board["schemaVersion"] >= 39 and board["uid"] == "ccpa-pipeline"
    assert "http" not in json.dumps(board), "the dashboard links nowhere outside"


def test_every_panel_queries_metrics_and_labels_the_services_export() -> None:
    found = dashboards.queries(dashboard())
    assert len(found) >= 20
    assert dashboards.metric_problems(found, exported()) == []


def test_the_issue_s_panels_are_there() -> None:
    metrics = {s.metric for query in dashboards.queries(dashboard()) for s in dashboards.selectors(query.expr)[0]}
    assert {what for what, metric in SHOWN.items() if metric not in metrics} == set()


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("sum(rate(ccpa_requests_lost_total[5m]))", "ccpa_requests_lost_total is exported by no service"),
        ('sum(ccpa_outbox_pending{email="x"})', "ccpa_outbox_pending has no label 'email'"),
        ("sum by (subject_key) (ccpa_consumer_lag_messages)", "groups by 'subject_key', which none of its metrics has"),
        ("sum(rate(ccpa_consumer_messages_total[5m]) by", "is not valid PromQL"),
        ('sum(ccpa_consumer_lag_messages{consumer=~"$group"})', "uses a dashboard variable"),
        ("1 + 1", "queries no metric"),
    ],
)
def test_a_panel_querying_what_nobody_exports_is_refused(expr: str, problem: str) -> None:
    problems = dashboards.metric_problems(dashboards.queries(with_panel(expr)), exported())
    assert len(problems) == 1 and problem in problems[0] and "panel 'added' target A" in problems[0], problems


def test_the_parser_sees_through_functions_binary_matching_and_name_matchers() -> None:
    chosen, grouped = dashboards.selectors(
        'histogram_quantile(0.9, sum by (le, consumer) (rate({__name__="ccpa_x_bucket", a="b"}[$__rate_interval])))'
        " / on (topic) group_left ccpa_y"
    )  # fmt: skip
    assert [(s.metric, set(s.labels)) for s in chosen] == [("ccpa_x_bucket", {"a"}), ("ccpa_y", set())]
    assert grouped == {"le", "consumer", "topic"}
    with pytest.raises(DashboardError, match="not valid PromQL"):
        dashboards.parse("sum(")


def test_structure_problems_are_named() -> None:
    broken = with_panel("sum(ccpa_outbox_pending)")
    added = broken["panels"][-1]
    added |= {"id": broken["panels"][0]["id"], "gridPos": dict(broken["panels"][1]["gridPos"])}
    added["targets"] = [{"refId": "A", "datasource": {"type": "prometheus", "uid": "prom-1"}}]
    broken["templating"]["list"] = []
    broken["links"] = [{"title": "vendor", "url": "https://example.invalid/"}]
    problems = "\n".join(dashboards.structure_problems(broken))
    for expected in (
        "no `datasource` template variable",
        "external link",
        f"panel id {added['id']} is used 2 times",
        "panel 'added' overlaps",
        "datasource must be the ${datasource}",
        "target A has no expr",
    ):
        assert expected in problems, problems  # fmt: skip


def test_a_scraped_page_declares_each_family_s_samples() -> None:
    page = "# HELP a_total x\n# TYPE a_total counter\n# HELP h_seconds y\n# TYPE h_seconds histogram\n"
    assert dashboards.scraped_exports(page) >= {"a_total", "h_seconds_bucket", "h_seconds_sum", "h_seconds_count"}
    assert dashboards.metric_problems([Query("p", "A", "a_total + h_seconds_count")], {
        name: frozenset() for name in dashboards.scraped_exports(page)}) == []  # fmt: skip


def test_the_component_generates_the_sidecar_s_config_map(tmp_path: Path) -> None:
    component = yaml.safe_load((COMPONENT / "kustomization.yaml").read_text())
    generated = component["configMapGenerator"][0]
    assert component["kind"] == "Component" and generated["files"] == ["ccpa-pipeline.json"]
    kustomize = shutil.which("kustomize") or shutil.which("kustomize", path=str(Path.home() / "go" / "bin"))
    if kustomize is None:
        pytest.skip("kustomize is not installed (make k8s installs it)")
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({"components": [os.path.relpath(COMPONENT, tmp_path)]}))
    rendered = subprocess.run([kustomize, "build", str(tmp_path), "--load-restrictor", "LoadRestrictionsNone"],
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    (config_map,) = yaml.safe_load_all(rendered.stdout)
    assert config_map["kind"] == "ConfigMap" and config_map["metadata"]["labels"] == {"grafana_dashboard": "1"}
    assert json.loads(config_map["data"]["ccpa-pipeline.json"]) == dashboard()
