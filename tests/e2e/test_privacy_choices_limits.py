"""Your Privacy Choices against an intake of its own: the POSTs are limited per client address (429 page with
Retry-After), and with the opt-out service down the page says the state can't be shown while the button still works."""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest

from devtools.local.pipeline import Pipeline, PipelineConfig

pytestmark = pytest.mark.e2e
CSRF = re.compile(r'name="csrftoken" value="([^"]+)"')


def test_choices_are_rate_limited_per_address_and_work_while_optout_is_down(pipeline_config: PipelineConfig) -> None:
    config = dataclasses.replace(pipeline_config, extra_env={"CCPA_CHOICES_RATE_LIMIT": "3/minute"})
    limited = Pipeline(config)  # intake alone: nothing answers at its optout URL
    limited.intake.start()
    try:
        with httpx.Client(base_url=limited.intake.url, timeout=10) as browser:
            page = browser.get("/privacy/choices")
            match = CSRF.search(page.text)
            assert page.status_code == 200 and match is not None
            assert "We can't show your current choices right now." in page.text
            answers = [browser.post("/privacy/choices/opt-out", data={"csrftoken": match.group(1)}) for _ in range(5)]
    finally:
        limited.intake.stop()
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
    assert "You have opted out of the sale and sharing" in answers[0].text
    assert "Please wait a little" in answers[3].text and answers[3].headers["content-type"].startswith("text/html")
    waits = [answer.headers.get("Retry-After", "") for answer in answers[3:]]
    assert all(wait.isdigit() and 1 <= int(wait) <= 60 for wait in waits), f"Retry-After in seconds: {waits}"
