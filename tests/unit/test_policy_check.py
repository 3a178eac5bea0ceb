"""`ccpa check policy`: the last-updated date read from HTML, Markdown or text (meta tag, <time>, "Last updated:"),
a policy older than 12 months or undated fails (§1798.130(a)(5)), and each missing §7011 disclosure is named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app
from services.common.policy import DISCLOSURES, check_policy, read_html, read_text
from services.common.policy.document import parse_date, stated_in_text

FIXTURES = Path(__file__).parent / "fixtures" / "policy"
TODAY = date(2026, 12, 2)


def test_a_complete_current_policy_passes_and_scripts_are_not_read() -> None:
    document = read_html((FIXTURES / "complete.html").read_text())
    assert document.last_updated == date(2026, 3, 1)
    assert "January 1, 2000" not in document.text
    result = check_policy(document, TODAY)
    assert result.passed, result.failures
    assert len(result.found) == len(DISCLOSURES)


@pytest.mark.parametrize(
    ("text", "stated"),
    [
        ("Last updated: November 3, 2026\nIntro", date(2026, 11, 3)),
        ("Effective date 2026-02-28.", date(2026, 2, 28)),
        ("Last revised on 3 January 2026 by legal", date(2026, 1, 3)),
        ("We updated this page in 2024.", None),  # a year alone is no date
        ("Last updated: soon", None),
    ],
)
def test_the_last_updated_date_is_read_from_the_words(text: str, stated: date | None) -> None:
    assert stated_in_text(text) == stated


def test_a_time_element_after_the_words_states_the_date() -> None:
    page = '<p>Last updated <time datetime="2026-05-04">May 4</time></p><p>Updated rarely</p>'
    assert read_html(page).last_updated == date(2026, 5, 4)
    assert parse_date("May 2026") is None and parse_date("2026-05-04T10:00:00Z") == date(2026, 5, 4)


def test_a_policy_older_than_twelve_months_fails_naming_its_age_and_what_is_missing() -> None:
    result = check_policy(read_text((FIXTURES / "stale.md").read_text()), TODAY)
    assert not result.passed
    assert result.failures[0].startswith("last updated 2025-10-01, 14 months ago: §1798.130(a)(5)")
    missing = [line for line in result.failures if line.startswith("missing disclosure:")]
    assert "missing disclosure: the right to correct (§7011(e)(1)(C))" in missing
    assert any("Global Privacy Control" in line for line in missing)
    assert any("job applicants" in line for line in missing)
    assert not any("the right to know" in line for line in missing)


def test_twelve_months_to_the_day_is_still_current_and_one_day_more_is_not() -> None:
    document = read_text("Last updated: December 2, 2025")
    assert not [f for f in check_policy(document, TODAY).failures if f.startswith("last updated")]
    assert check_policy(document, date(2026, 12, 3)).failures[0].startswith("last updated 2025-12-02, 12 months ago")


def test_an_undated_policy_fails() -> None:
    result = check_policy(read_text((FIXTURES / "undated.txt").read_text()), TODAY)
    assert result.last_updated is None
    assert result.failures[0].startswith("no last-updated date found")


def test_the_command_exits_0_with_a_summary_and_1_with_one_line_per_failure() -> None:
    runner = CliRunner()
    passed = runner.invoke(app, ["check", "policy", str(FIXTURES / "complete.html"), "--today", "2026-12-02"])
    assert passed.exit_code == 0, passed.output
    assert passed.output.strip().splitlines() == [
        f"privacy policy passes: last updated 2026-03-01, all {len(DISCLOSURES)} required disclosures present"
    ]
    failed = runner.invoke(app, ["check", "policy", str(FIXTURES / "stale.md"), "--today", "2026-12-02"])
    assert failed.exit_code == 1
    lines = failed.output.strip().splitlines()
    assert lines[0].startswith("last updated 2025-10-01") and len(lines) > 5
    assert "Traceback" not in failed.output


def test_an_unreadable_source_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["check", "policy", str(tmp_path / "nope.html")])
    assert missing.exit_code == 2 and "cannot read" in missing.output and "Traceback" not in missing.output
    bad_day = CliRunner().invoke(app, ["check", "policy", str(FIXTURES / "stale.md"), "--today", "tomorrow"])
    assert bad_day.exit_code == 2 and "--today" in bad_day.output
