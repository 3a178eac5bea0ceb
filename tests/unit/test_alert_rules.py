"""The alert rules shipped for Prometheus: promtool accepts them, and every expression names metrics and labels
services/common/metrics.py exposes."""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.metrics import MetricWrapperBase

from devtools import dashboards
from devtools.dashboards import Query
from devtools.localstack.promtool import promtool
from services.common import metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "k8s" / "components" / "prometheus-rules"
RUNBOOK = ROOT / "docs" / "runbook.md"
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
WANTED = {"CcpaRequestOverdue", "CcpaDeadlineMissed", "CcpaDeadLettersGrowing", "CcpaConsumerLag", "CcpaOutboxParked",
          "CcpaOutboxStuck", "CcpaStoreUnavailable", "CcpaDeadlineWatchSilent"}  # fmt: skip


def rule_groups() -> dict[str, Any]:
    document = yaml.safe_load((RULES / "prometheus-rules.yaml").read_text())
    assert document["kind"] == "PrometheusRule"
    return dict(document["spec"])


def rules() -> list[dict[str, Any]]:
    return [rule for group in rule_groups()["groups"] for rule in group["rules"]]


def exposed() -> dict[str, frozenset[str]]:
    """Every sample name the shared metrics expose, with the metric's label names (the GPC monitor's gauges too,
    which `ccpa monitor gpc` writes to a textfile rather than a service's registry)."""
    names: dict[str, frozenset[str]] = {}
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            for suffix in SUFFIXES[metric._type]:
                names[f"{metric._name}{suffix}"] = frozenset(metric._labelnames)
    return names


def anchors(markdown: str) -> set[str]:
    """The anchors of a document's headings, as GitHub makes them (lower case, punctuation dropped, - for spaces)."""
    headings = re.findall(r"^#{1,6} +(.+?) *$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    plain = tmp_path / "rules.yaml"
    plain.write_text(yaml.safe_dump(rule_groups()))
    checked = subprocess.run([str(promtool()), "check", "rules", str(plain)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


def test_every_expression_names_exposed_metrics_and_their_labels() -> None:
    expressions = [Query(rule["alert"], "expr", rule["expr"]) for rule in rules()]
    assert dashboards.metric_problems(expressions, exposed()) == []


def test_every_alert_links_its_section_of_the_runbook() -> None:
    sections = anchors(RUNBOOK.read_text())
    for rule in rules():
        link = rule["annotations"].get("runbook_url", "")
        assert link.startswith("docs/runbook.md#"), f"{rule['alert']}: runbook_url {link!r}"
        assert link.split("#", 1)[1] in sections, f"{rule['alert']}: docs/runbook.md has no section #{link}"


def test_a_missing_runbook_section_is_noticed() -> None:
    assert anchors("# Runbook\n## CcpaOutboxStuck\n### What it means: the relay\n") == {
        "runbook", "ccpaoutboxstuck", "what-it-means-the-relay"}  # fmt: skip


def test_the_issue_s_alerts_are_there_each_with_a_severity_and_a_summary() -> None:
    assert {rule["alert"] for rule in rules()} >= WANTED
    for rule in rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]


def test_the_component_ships_the_rules_file() -> None:
    component = yaml.safe_load((RULES / "kustomization.yaml").read_text())
    assert component["kind"] == "Component" and component["resources"] == ["prometheus-rules.yaml"]


ALERT_TESTS = {
    "evaluation_interval": "1m",
    "tests": [
        {
            "interval": "1m",
            "input_series": [
                {"series": 'ccpa_audit_open_requests{request_type="delete",state="overdue"}', "values": "0 0 1 1"},
                {"series": 'ccpa_consumer_lag_messages{consumer="ccpa-audit",topic="privacy.requests"}',
                 "values": "5000x15"},
                # intake's relay publishes nothing while rows wait; deletion's has rows waiting but keeps publishing
                {"series": 'ccpa_outbox_pending{job="intake"}', "values": "3x30"},
                {"series": 'ccpa_outbox_published_total{job="intake"}', "values": "40x30"},
                {"series": 'ccpa_outbox_pending{job="deletion"}', "values": "2x30"},
                {"series": 'ccpa_outbox_published_total{job="deletion"}', "values": "0+5x30"},
            ],
            "alert_rule_test": [
                {"eval_time": "1m", "alertname": "CcpaRequestOverdue", "exp_alerts": []},
                {"eval_time": "3m", "alertname": "CcpaRequestOverdue", "exp_alerts": [
                    {"exp_labels": {"request_type": "delete", "severity": "critical"},
                     "exp_annotations": {"summary": "1 delete request(s) are past their legal deadline unanswered"}}]},
                {"eval_time": "5m", "alertname": "CcpaConsumerLag", "exp_alerts": []},
                {"eval_time": "12m", "alertname": "CcpaConsumerLag", "exp_alerts": [
                    {"exp_labels": {"consumer": "ccpa-audit", "topic": "privacy.requests", "severity": "warning"},
                     "exp_annotations": {"summary": "ccpa-audit is 5000 messages behind on privacy.requests"}}]},
                {"eval_time": "20m", "alertname": "CcpaOutboxStuck", "exp_alerts": [
                    {"exp_labels": {"job": "intake", "severity": "critical"},
                     "exp_annotations": {"summary": "intake has had outbox rows pending for 15 minutes and published "
                                                    "none"}}]},
            ],
        }
    ],
}  # fmt: skip


def test_an_overdue_request_a_lagging_consumer_and_a_stuck_outbox_fire_their_alerts(tmp_path: Path) -> None:
    alert_tests = copy.deepcopy(ALERT_TESTS)
    by_name = {rule["alert"]: rule["annotations"] for rule in rules()}
    for case in alert_tests["tests"][0]["alert_rule_test"]:  # type: ignore[index]
        for expected in case["exp_alerts"]:  # the annotations that do not depend on the series, as written
            expected["exp_annotations"] = {**by_name[case["alertname"]], **expected["exp_annotations"]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_groups()))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], **alert_tests}))
    tested = subprocess.run([str(promtool()), "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True,
                            text=True)  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr
