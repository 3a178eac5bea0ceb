"""The demo's visit to the privacy center: an opt-out through Your Privacy Choices, sent as a browser sends it
(GET the page for its CSRF cookie and token, POST the form), then the status page its confirmation links to."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import httpx
from rich.console import Console

_CSRF = re.compile(r'name="csrftoken" value="([^"]+)"')
_H1 = re.compile(r"<h1>(.*?)</h1>", re.S)
_STATUS_LINK = re.compile(r'href="(/privacy/status/[^"]+)"')
_CURRENT_STEP = re.compile(r'<li class="current">(.*?) <span', re.S)


@dataclass(frozen=True)
class ChoiceMade:
    confirmation: str
    status_url: str
    stage: str


def opt_out_through_choices(intake_url: str) -> ChoiceMade:
    """One opt-out through the form, no e-mail given: the browser's device cookie is its only identifier."""
    with httpx.Client(base_url=intake_url, timeout=10) as browser:
        page = browser.get("/privacy/choices")
        page.raise_for_status()
        token = _found(_CSRF, page.text, "the choices page's CSRF token")
        done = browser.post("/privacy/choices/opt-out", data={"csrftoken": token, "email": ""})
        done.raise_for_status()
        status_path = _found(_STATUS_LINK, done.text, "the confirmation's status link")
        status = browser.get(status_path)
        status.raise_for_status()
    match = _CURRENT_STEP.search(status.text)
    return ChoiceMade(_words(_found(_H1, done.text, "the confirmation's heading")), f"{intake_url}{status_path}",
                      _words(match.group(1)) if match else "Done")  # fmt: skip


def print_choice(console: Console, intake_url: str) -> None:
    made = opt_out_through_choices(intake_url)
    console.print("[bold]Your Privacy Choices, as a browser uses it (GET the page, POST the opt-out form)[/bold]")
    console.print(f"  {made.confirmation} · status: {made.stage}", highlight=False)
    console.print(f"  status page: {made.status_url}\n", highlight=False)


def _found(pattern: re.Pattern[str], text: str, what: str) -> str:
    match = pattern.search(text)
    if match is None:
        raise RuntimeError(f"the privacy center's page did not carry {what}")
    return match.group(1)


def _words(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())
