"""`ccpa monitor gpc`'s pure checks: a sale/sharing tag request or a missing "Opt-Out Request Honored" fails the
site, a service provider's tag does not; the alert metrics and their rule fire when it fails; the command refuses
what it cannot check with one line and a metric saying not ok."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from devtools.demo.generator import DATAMAP_PATH, DemoTarget, demo_env
from devtools.localstack.promtool import promtool
from services.cli import app
from services.common.datamap import load_datamap
from services.common.datamap.flows import TagSpec
from services.monitor.checks import HONOURED, Visit, judge, opt_out_tags
from services.monitor.cli import site_of, write_metrics
from tests.unit.test_alert_rules import rule_groups

HOST = "http://127.0.0.1:8090"
PIXEL, ANALYTICS = f"{HOST}/adreach/pixel.js", f"{HOST}/metricly/analytics.js"


def demo_env_in(directory: Path) -> dict[str, str]:
    return {**demo_env(DemoTarget.in_directory(directory, "redis://127.0.0.1:6379/0")), "DEMO_TAG_HOST": HOST}


@pytest.fixture(scope="module")
def tags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TagSpec]:
    return opt_out_tags(load_datamap(DATAMAP_PATH, demo_env_in(tmp_path_factory.mktemp("demo"))))


def test_only_the_sale_and_sharing_browser_tags_are_watched(tags: dict[str, TagSpec]) -> None:
    assert set(tags) == {"adreach-pixel"}


def test_a_page_that_loads_only_the_analytics_tag_and_says_honoured_passes(tags: dict[str, TagSpec]) -> None:
    verdict = judge(Visit(("http://shop.example/", ANALYTICS, f"{HOST}/metricly/collect?e=view"),
                          f"Trail runner 2\n{HONOURED}"), tags)  # fmt: skip
    assert verdict.ok and verdict.honoured and verdict.leaks == ()


def test_an_ad_tag_request_and_a_missing_honoured_message_each_fail_once(tags: dict[str, TagSpec]) -> None:
    visit = Visit((PIXEL, f"{HOST}/adreach/collect?e=pageview&uid=secret-id", ANALYTICS), "Trail runner 2")
    verdict = judge(visit, tags)
    assert not verdict.ok and len(verdict.leaks) == 2
    assert verdict.failures == (
        f"with GPC on, the page loaded the adreach-pixel tag (a sale/sharing flow): {PIXEL}",
        f'the page does not say "{HONOURED}" with GPC on (§7025(c)(6))',
    )
    assert "secret-id" not in " ".join(verdict.failures)


def test_the_look_up_page_is_read_instead_of_the_page_when_given(tags: dict[str, TagSpec]) -> None:
    assert not judge(Visit((), HONOURED, lookup_text="Your choices"), tags).ok
    assert judge(Visit((), "Trail runner 2", lookup_text=f"GPC: {HONOURED}"), tags).ok


def test_the_site_label_carries_no_path_or_query() -> None:
    assert site_of("https://shop.example/p/42?email=a@b.example") == "https://shop.example"


def test_the_metrics_file_says_not_ok_with_the_leak_count(tags: dict[str, TagSpec], tmp_path: Path) -> None:
    path = tmp_path / "gpc.prom"
    write_metrics(path, "http://shop.example", judge(Visit((PIXEL,), "x"), tags))
    text = path.read_text()
    assert 'ccpa_gpc_monitor_ok{site="http://shop.example"} 0.0' in text
    assert 'ccpa_gpc_monitor_leaked_tag_requests{site="http://shop.example"} 1.0' in text


def test_a_failed_check_fires_the_alert(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_groups()))
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": 'ccpa_gpc_monitor_ok{site="http://shop.example"}', "values": "1 1 0 0"}],
        "alert_rule_test": [
            {"eval_time": "1m", "alertname": "CcpaGpcNotHonoured", "exp_alerts": []},
            {"eval_time": "2m", "alertname": "CcpaGpcNotHonoured", "exp_alerts": [{
                "exp_labels": {"site": "http://shop.example", "severity": "critical"},
                "exp_annotations": {"summary": "http://shop.example: with GPC on, a sale/sharing tag loads or the page "
                                               "does not say it was honoured",
                                    "description": _annotation("CcpaGpcNotHonoured", "description"),
                                    "runbook_url": _annotation("CcpaGpcNotHonoured", "runbook_url")}}]},
        ]}]}  # fmt: skip
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    tested = subprocess.run([str(promtool()), "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True,
                            text=True)  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _annotation(alert: str, name: str) -> str:
    rules = [rule for group in rule_groups()["groups"] for rule in group["rules"]]
    return str(next(rule for rule in rules if rule["alert"] == alert)["annotations"][name])


def test_a_url_that_is_no_web_address_is_refused_in_one_line(tmp_path: Path) -> None:
    metrics = tmp_path / "gpc.prom"
    result = CliRunner().invoke(app, ["monitor", "gpc", "ftp://shop.example/", "--metrics-file", str(metrics)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "must start with http:// or https://" in result.output
    assert 'ccpa_gpc_monitor_ok{site="ftp://shop.example"} 0.0' in metrics.read_text()


def test_a_missing_browser_is_a_monitor_that_cannot_run(tmp_path: Path) -> None:
    env = {**demo_env_in(tmp_path), "CCPA_CHROMIUM_PATH": str(tmp_path / "no-chromium")}
    result = CliRunner().invoke(app, ["monitor", "gpc", "http://127.0.0.1:9/", "--datamap", str(DATAMAP_PATH)], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("monitor could not run: Chromium did not start from")
