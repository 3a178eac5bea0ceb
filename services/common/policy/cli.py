"""`ccpa check policy FILE|URL`: exit 0 with a summary when the privacy policy passes, 1 with one line per failure."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import httpx
import typer

from services.common.policy.checks import check_policy
from services.common.policy.document import PolicyDocument, read_html, read_text

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
FETCH_TIMEOUT_SECONDS = 15.0
check_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="Compliance checks: a privacy policy's freshness and disclosures")  # fmt: skip


class PolicyUnreadable(Exception):
    """The policy could not be read or fetched; the message says why, without its content."""


@check_app.command("policy")
def policy(
    source: Annotated[
        str, typer.Argument(metavar="FILE|URL", help="An HTML, Markdown or text file, or an http(s) URL")
    ],
    today: Annotated[str | None, typer.Option(help="Check as of this date (YYYY-MM-DD); default: today")] = None,
) -> None:
    """Check a privacy policy: updated in the last 12 months, and every required disclosure present."""
    try:
        as_of = date.fromisoformat(today) if today else date.today()
    except ValueError:
        typer.echo(f"--today: expected a date as YYYY-MM-DD, got {today!r}", err=True)
        raise typer.Exit(2) from None
    try:
        document = load_policy(source)
    except PolicyUnreadable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    result = check_policy(document, as_of)
    if result.passed:
        typer.echo(result.summary())
        return
    for failure in result.failures:
        typer.echo(failure)
    raise typer.Exit(1)


def load_policy(source: str) -> PolicyDocument:
    """Fetch a URL or read a file; HTML by its suffix, content type or opening tag, else Markdown or text."""
    if source.startswith(("http://", "https://")):
        content, html = _fetched(source)
    else:
        path = Path(source)
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyUnreadable(f"cannot read {path}: {type(exc).__name__}") from None
        html = path.suffix.lower() in HTML_SUFFIXES or _looks_like_html(content)
    return read_html(content) if html else read_text(content)


def _fetched(url: str) -> tuple[str, bool]:
    try:
        response = httpx.get(url, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise PolicyUnreadable(f"cannot fetch {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise PolicyUnreadable(f"cannot fetch {url}: HTTP {response.status_code}")
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return response.text, media in ("text/html", "application/xhtml+xml") or _looks_like_html(response.text)


def _looks_like_html(content: str) -> bool:
    opening = content.lstrip()[:200].lower()
    return opening.startswith(("<!doctype html", "<html")) or "<body" in opening
