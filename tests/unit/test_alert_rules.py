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

from devtools.localstack.promtool import promtool
from services.common import metrics

RULES = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "components" / "prometheus-rules"
SELECTOR = re.compile(r"(ccpa_[a-z0-9_]+)\s*(?:\{([^}]*)\})?")
MATCHER = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
WANTED = {"CcpaRequestOverdue", "CcpaDeadlineMissed", "CcpaDeadLettersGrowing", "CcpaConsumerLag"}


def rule_groups() -> dict[str, Any]:
    document = yaml.safe_load((RULES / "prometheus-rules.yaml").read_text())
    assert document["kind"] == "PrometheusRule"
    return dict(document["spec"])


def rules() -> list[dict[str, Any]]:
    return [rule for group in rule_groups()["groups"] for rule in group["rules"]]


def exposed() -> dict[str, tuple[str, ...]]:
    """Every sample name the shared metrics expose, with the metric's label names."""
    names: dict[str, tuple[str, ...]] = {}
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            for suffix in SUFFIXES[metric._type]:
                names[f"{metric._name}{suffix}"] = tuple(metric._labelnames)
    return names


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    plain = tmp_path / "rules.yaml"
    plain.write_text(yaml.safe_dump(rule_groups()))
    checked = subprocess.run([str(promtool()), "check", "rules", str(plain)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


def test_every_expression_names_exposed_metrics_and_their_labels() -> None:
    known = exposed()
    for rule in rules():
        selectors = SELECTOR.findall(rule["expr"])
        assert selectors, f"{rule['alert']} names no ccpa_ metric"
        for name, matchers in selectors:
            assert name in known, f"{rule['alert']}: {name} is not in services/common/metrics.py"
            for label in MATCHER.findall(matchers):
                assert label in known[name], f"{rule['alert']}: {name} has no label {label}"
        grouped = re.findall(r"by \(([^)]*)\)", rule["expr"])
        for label in (item.strip() for labels in grouped for item in labels.split(",")):
            assert any(label in known[name] for name, _ in selectors), f"{rule['alert']}: no metric has {label}"


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
            ],
        }
    ],
}  # fmt: skip


def test_an_overdue_request_and_a_lagging_consumer_fire_their_alerts(tmp_path: Path) -> None:
    overdue = next(rule for rule in rules() if rule["alert"] == "CcpaRequestOverdue")
    alert_tests = copy.deepcopy(ALERT_TESTS)
    expected = alert_tests["tests"][0]["alert_rule_test"][1]["exp_alerts"][0]  # type: ignore[index]
    expected["exp_annotations"]["description"] = overdue["annotations"]["description"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_groups()))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], **alert_tests}))
    tested = subprocess.run([str(promtool()), "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True,
                            text=True)  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr
