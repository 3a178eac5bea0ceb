"""The privacy policy intake serves, written from the data map: what is collected (job applicants' records too), sold,
shared and disclosed, how long it is kept; the page passes `ccpa check policy`, and an old date fails it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2

from devtools.demo.generator import DATAMAP_PATH, DemoTarget, demo_env
from services.common.datamap import load_datamap
from services.common.policy import check_policy, read_html
from services.common.sensitive import SENSITIVE_CATEGORIES
from services.intake.business import Business
from services.intake.privacy_policy import PrivacyPolicy, privacy_policy
from services.intake.web.templating import environment
from services.intake.web.texts import SENSITIVE_LABELS

UPDATED = date(2026, 11, 26)


def demo_policy(tmp_path: Path, updated: date = UPDATED) -> PrivacyPolicy:
    env = demo_env(DemoTarget.in_directory(tmp_path, "redis://127.0.0.1:6379/0"))
    return privacy_policy(load_datamap(DATAMAP_PATH, env), updated)


def page(policy: PrivacyPolicy) -> str:
    business = Business("Juniper & Finch", "privacy@example.com", "1-800-555-0100", "1 Main St, Sacramento, CA")
    sensitive = [SENSITIVE_LABELS[code] for code in SENSITIVE_CATEGORIES if code in policy.sensitive]
    template: jinja2.Template = environment.get_template("policy.html.j2")
    return template.render(policy=policy, sensitive=sensitive, business=business, csrf_token="t", gpc=False)


def test_the_policy_names_what_is_sold_shared_and_disclosed_and_what_applicants_have(tmp_path: Path) -> None:
    policy = demo_policy(tmp_path)
    assert [item.category for item in policy.sold] == ["Identifiers"]
    assert policy.sold[0].recipients == ("co-marketing partner",)
    assert {item.category for item in policy.shared} == {"Identifiers", "Internet or other electronic network activity"}
    assert "payment processor" in {name for item in policy.disclosed for name in item.recipients}
    applicant = policy.subject_types["job applicant"]
    assert [use.code for use in applicant] == ["A", "I"]
    orders = next(use for use in policy.collected if use.code == "D")
    assert "order number: 7 years (legal obligation)" in orders.retention


def test_the_rendered_page_passes_the_policy_check_with_its_anchors(tmp_path: Path) -> None:
    html = page(demo_policy(tmp_path))
    assert 'id="sale"' in html and 'id="sharing"' in html
    result = check_policy(read_html(html), date(2026, 12, 2))
    assert result.passed, result.failures
    assert result.last_updated == UPDATED


def test_a_page_last_updated_thirteen_months_ago_fails_the_check(tmp_path: Path) -> None:
    result = check_policy(read_html(page(demo_policy(tmp_path, date(2025, 11, 1)))), date(2026, 12, 2))
    assert result.failures == ("last updated 2025-11-01, 13 months ago: §1798.130(a)(5) requires updating the "
                               "privacy policy at least once every 12 months",)  # fmt: skip
